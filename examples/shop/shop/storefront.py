"""Storefront API: what shoppers (and Locust) call.

Resilience, on purpose:
- inventory: a 250 ms timeout per attempt, up to 3 attempts with exponential backoff (25, 50 ms) spread over
  the two replicas (round robin; a failed replica is retried on the other one), and a cache fallback: when every
  attempt fails, the last good stock list is served with ``"source": "cache"`` (stale, but the shop stays up).

Weakness, on purpose (the game day's finding):
- payments is called with NO timeout and NO fallback. Slow payments make checkout exactly as slow (and tie up a
  storefront thread per waiting shopper); payments down means every checkout fails with 502.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shop.httpkit import CallError, Handler, add_listen_args, call_json, die_with_parent, listen, serve
from shop.telemetry import Telemetry


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)


class InventoryClient:
    def __init__(
        self,
        replicas: list[str],
        telemetry: Telemetry,
        stats: Stats,
        timeout_s: float = 0.25,
        attempts: int = 3,
        backoff_s: float = 0.025,
    ) -> None:
        self.replicas = replicas
        self.telemetry = telemetry
        self.stats = stats
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._next = itertools.count()
        self._cache: dict[str, Any] | None = None
        self._cache_lock = threading.Lock()

    def stock(self) -> tuple[dict[str, Any], str]:
        """The stock list and where it came from (a replica's name, or ``cache``)."""
        start = next(self._next)
        errors: list[str] = []
        for attempt in range(self.attempts):
            url = self.replicas[(start + attempt) % len(self.replicas)]
            if attempt:
                self.stats.add("inventory_retries")
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                with self.telemetry.client_span("GET inventory /stock", **{"server.address": url}) as headers:
                    data = call_json(f"{url}/stock", timeout=self.timeout_s, headers=headers)
            except CallError as exc:
                errors.append(str(exc))
                continue
            with self._cache_lock:
                self._cache = data
            return data, str(data.get("replica", url))
        self.stats.add("inventory_failures")
        with self._cache_lock:
            cached = self._cache
        if cached is None:
            raise CallError("inventory unavailable and nothing cached yet: " + "; ".join(errors))
        self.stats.add("cache_fallbacks")
        return cached, "cache"


def make_handler(inventory: InventoryClient, payments_url: str, telemetry: Telemetry, stats: Stats) -> type[Handler]:
    orders = itertools.count(1)

    def health(h: Handler, body: Any) -> tuple[int, Any]:
        return 200, {"status": "up"}

    def products(h: Handler, body: Any) -> tuple[int, Any]:
        stats.add("products")
        try:
            data, source = inventory.stock()
        except CallError as exc:
            return 503, {"error": str(exc)}
        return 200, {"products": data["items"], "source": source}

    def checkout(h: Handler, body: Any) -> tuple[int, Any]:
        stats.add("checkouts")
        if not isinstance(body, dict) or not isinstance(body.get("sku"), str):
            return 400, {"error": "checkout needs {'sku': str, 'qty': int}"}
        qty = body.get("qty", 1)
        if not isinstance(qty, int) or qty < 1:
            return 400, {"error": "qty must be a positive integer"}
        try:
            data, source = inventory.stock()
        except CallError as exc:
            return 503, {"error": str(exc)}
        item = next((i for i in data["items"] if i["sku"] == body["sku"]), None)
        if item is None:
            return 404, {"error": f"unknown sku {body['sku']!r}"}
        if item["stock"] < qty:
            return 409, {"error": "out of stock"}
        try:
            # THE WEAKNESS: no timeout, no fallback. Whatever payments does, checkout waits for it.
            with telemetry.client_span("POST payments /charge", **{"server.address": payments_url}) as headers:
                charge = call_json(
                    f"{payments_url}/charge", "POST", {"amount_cents": item["price_cents"] * qty}, None, headers
                )
        except CallError as exc:
            stats.add("payment_failures")
            return 502, {"error": f"payment failed: {exc}"}
        return 200, {"order_id": next(orders), "charge": charge, "stock_source": source}

    def stats_route(h: Handler, body: Any) -> tuple[int, Any]:
        return 200, stats.snapshot()

    routes = {
        ("GET", "/health"): health,
        ("GET", "/products"): products,
        ("POST", "/checkout"): checkout,
        ("GET", "/stats"): stats_route,
    }
    return telemetry.handler("StorefrontHandler", routes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shop.storefront")
    add_listen_args(parser)
    parser.add_argument("--inventory", action="append", required=True, help="an inventory base URL (repeat)")
    parser.add_argument("--payments", required=True, help="payments base URL")
    parser.add_argument("--inventory-timeout", type=float, default=0.25, help="seconds per inventory attempt")
    parser.add_argument("--spans", type=Path, default=None, help="JSON-lines file for spans")
    args = parser.parse_args(argv)
    die_with_parent()
    telemetry = Telemetry("storefront", args.spans)
    stats = Stats()
    inventory = InventoryClient(args.inventory, telemetry, stats, timeout_s=args.inventory_timeout)
    server = listen(args, make_handler(inventory, args.payments, telemetry, stats))
    serve(server, "storefront", telemetry.shutdown)


if __name__ == "__main__":
    main()
