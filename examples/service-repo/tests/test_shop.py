"""Ordinary tests: they run with or without --chaos."""

from __future__ import annotations

import json
import urllib.request

from conftest import Stack


def test_products(stack: Stack) -> None:
    with urllib.request.urlopen(f"{stack.shop_url}/products", timeout=5) as response:
        assert response.status == 200
        assert {p["sku"] for p in json.load(response)} == {"tea-01", "mug-02"}
