"""Shoppers for the demo shop: mostly browsing, sometimes buying. Run by chaoskit's locust load driver
(``load: {driver: locust, locustfile: ../locustfile.py, host: ...}``), or by hand:

    locust -f examples/shop/locustfile.py --host http://127.0.0.1:8080 --headless -u 10 -r 10 -t 30s
"""

from __future__ import annotations

import random

from locust import HttpUser, between, task

SKUS = ["espresso", "grinder", "kettle", "filters"]


class Shopper(HttpUser):
    wait_time = between(0.2, 0.6)

    @task(4)
    def browse(self) -> None:
        self.client.get("/products", name="browse")

    @task(1)
    def checkout(self) -> None:
        self.client.post("/checkout", json={"sku": random.choice(SKUS), "qty": 1}, name="checkout")
