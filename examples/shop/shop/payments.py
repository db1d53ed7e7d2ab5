"""Payments service: charges an order. Slow by nature (it talks to a card network), so ~20 ms per charge."""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path
from typing import Any

from shop.httpkit import Handler, add_listen_args, die_with_parent, listen, serve
from shop.telemetry import Telemetry


def make_handler(telemetry: Telemetry) -> type[Handler]:
    ids = itertools.count(1)

    def health(h: Handler, body: Any) -> tuple[int, Any]:
        return 200, {"status": "up"}

    def charge(h: Handler, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("amount_cents"), int) or body["amount_cents"] <= 0:
            return 400, {"error": "charge needs a positive integer amount_cents"}
        time.sleep(0.02)
        return 200, {"charge_id": f"ch_{next(ids):06d}", "amount_cents": body["amount_cents"], "status": "captured"}

    routes = {("GET", "/health"): health, ("POST", "/charge"): charge}
    return telemetry.handler("PaymentsHandler", routes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shop.payments")
    add_listen_args(parser)
    parser.add_argument("--spans", type=Path, default=None, help="JSON-lines file for spans")
    args = parser.parse_args(argv)
    die_with_parent()
    telemetry = Telemetry("payments", args.spans)
    server = listen(args, make_handler(telemetry))
    serve(server, "payments", telemetry.shutdown)


if __name__ == "__main__":
    main()
