"""Fixtures: a real toxiproxy-server (per session), a client cleaned per test, a TCP echo upstream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chaoskit_toxiproxy import ToxiproxyClient, ToxiproxyServer

from tests.e2e import session_server
from tests.toxiproxy.toxinet import EchoServer


@pytest.fixture(scope="session")
def toxiproxy_server() -> Iterator[ToxiproxyServer]:
    yield from session_server(ToxiproxyServer())


@pytest.fixture
def toxiproxy(toxiproxy_server: ToxiproxyServer) -> Iterator[ToxiproxyClient]:
    """A client for the session's server; every proxy a test leaves is deleted afterwards."""
    client = toxiproxy_server.client(timeout=10.0)
    yield client
    for name in client.proxies():
        client.delete_proxy(name)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer.start()
    yield server
    server.stop()
