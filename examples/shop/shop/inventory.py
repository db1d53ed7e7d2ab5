"""Inventory service (one replica): stock per product. Run two of them, each behind its own proxy."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from shop.httpkit import Handler, add_listen_args, die_with_parent, listen, serve
from shop.telemetry import Telemetry

CATALOG = {
    "espresso": {"name": "Espresso beans 1kg", "price_cents": 2490},
    "grinder": {"name": "Burr grinder", "price_cents": 12900},
    "kettle": {"name": "Gooseneck kettle", "price_cents": 5900},
    "filters": {"name": "Paper filters x100", "price_cents": 690},
}


def make_handler(replica: str, telemetry: Telemetry) -> type[Handler]:
    stock = dict.fromkeys(CATALOG, 1000)

    def health(h: Handler, body: Any) -> tuple[int, Any]:
        return 200, {"status": "up", "replica": replica}

    def all_stock(h: Handler, body: Any) -> tuple[int, Any]:
        time.sleep(0.003)  # a little real work: a lookup
        items = [{"sku": sku, **info, "stock": stock[sku]} for sku, info in CATALOG.items()]
        return 200, {"replica": replica, "items": items}

    routes = {("GET", "/health"): health, ("GET", "/stock"): all_stock}
    return telemetry.handler("InventoryHandler", routes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shop.inventory")
    add_listen_args(parser)
    parser.add_argument("--replica", default="inventory-1")
    parser.add_argument("--spans", type=Path, default=None, help="JSON-lines file for spans")
    args = parser.parse_args(argv)
    die_with_parent()
    telemetry = Telemetry("inventory", args.spans, {"service.instance.id": args.replica})
    server = listen(args, make_handler(args.replica, telemetry))
    serve(server, args.replica, telemetry.shutdown)


if __name__ == "__main__":
    main()
