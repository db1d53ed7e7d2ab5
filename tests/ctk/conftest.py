"""The real Toxiproxy fixtures of tests/toxiproxy, for the chaostoxi mapping tests."""

from tests.toxiproxy.conftest import echo, toxiproxy, toxiproxy_server

__all__ = ["echo", "toxiproxy", "toxiproxy_server"]
