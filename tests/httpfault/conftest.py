"""Fixtures: a real HTTP fault proxy (mitmproxy engine) per session, real upstreams, a proxy per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chaoskit_httpfault import HttpFaultClient, HttpFaultServer
from chaoskit_httpfault.faults import RuleFault

from chaoskit.plugin import Context
from tests.e2e import session_server
from tests.httpfault.upstream import http_upstream


@pytest.fixture(scope="session")
def httpfault_server() -> Iterator[HttpFaultServer]:
    yield from session_server(HttpFaultServer())


@pytest.fixture
def httpfault(httpfault_server: HttpFaultServer) -> Iterator[HttpFaultClient]:
    """A client for the session's proxy process; every proxy (and rule) a test leaves is deleted afterwards."""
    client = httpfault_server.client(timeout=10.0)
    yield client
    for name in client.proxies():
        client.delete_proxy(name)


@pytest.fixture(scope="session")
def upstream() -> Iterator[str]:
    with http_upstream() as url:
        yield url


def add_proxy(client: HttpFaultClient, name: str, upstream: str) -> str:
    """Create a proxy on a port the proxy process picks (listen port 0); returns its base URL."""
    made = client.create_proxy(name, "127.0.0.1:0", upstream)
    assert not made["listen"].endswith(":0")
    return f"http://{made['listen']}"


@pytest.fixture
def proxy(httpfault: HttpFaultClient, upstream: str) -> str:
    """A proxy named 'svc' in front of the upstream; returns its base URL."""
    return add_proxy(httpfault, "svc", upstream)


Inject = Callable[..., dict[str, Any]]


@pytest.fixture
def inject(httpfault: HttpFaultClient) -> Iterator[Inject]:
    """inject(fault, **params): plan + inject a fault as the runner does; reverted after the test."""
    done: list[tuple[RuleFault[Any], dict[str, Any]]] = []

    def run(fault: RuleFault[Any], run_id: str = "t", **params: Any) -> dict[str, Any]:
        from chaoskit_httpfault.section import HttpFaultSection

        ctx = Context(run_id=run_id, sections={"httpfault": HttpFaultSection(url=httpfault.url)})
        parsed = fault.Params.model_validate({"proxy": "svc", **params})
        info = fault.plan(parsed, ctx)
        fault.inject(parsed, info, ctx)
        done.append((fault, info))
        return info

    yield run
    for fault, info in done:
        fault.revert(info, Context())
