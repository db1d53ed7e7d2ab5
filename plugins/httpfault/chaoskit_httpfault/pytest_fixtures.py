"""pytest fixtures for service repos, registered under the ``chaoskit.pytest_fixtures`` entry point group:
chaoskit's pytest plugin loads them only when chaos tests run (``--chaos``).

``httpfault``: an HTTP fault proxy process for the test session (started on first use, stopped at the end);
per test, ``httpfault.proxy(name, upstream)`` puts a proxy in front of a service and returns its URL (hand it to
the code under test instead of the service's), and ``$HTTPFAULT_URL`` points experiments at the process. The
proxies a test made (and their rules) are deleted after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaoskit_httpfault.client import HttpFaultClient
from chaoskit_httpfault.server import HttpFaultServer


class HttpFaultFixture:
    """The session's HTTP fault proxy, seen from one test."""

    def __init__(self, server: HttpFaultServer) -> None:
        self.url = server.url
        self.client: HttpFaultClient = server.client(timeout=10.0)
        self.made: list[str] = []

    def proxy(self, name: str, upstream: str, keep_host: bool = False) -> str:
        """A proxy ``name`` in front of ``upstream`` (``http(s)://host:port``) on a free port; its base URL."""
        made = self.client.create_proxy(name, "127.0.0.1:0", upstream.rstrip("/"), keep_host)
        self.made.append(name)
        return f"http://{made['listen']}"

    def cleanup(self) -> None:
        for name in self.made:
            self.client.delete_proxy(name)
        self.made.clear()


@pytest.fixture(scope="session")
def httpfault_server() -> Iterator[HttpFaultServer]:
    """One HTTP fault proxy process for the session (scripts/setup-httpfault.sh installs its engine)."""
    with HttpFaultServer() as server:
        yield server


@pytest.fixture
def httpfault(httpfault_server: HttpFaultServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpFaultFixture]:
    """Proxies in front of the services under test; ``$HTTPFAULT_URL`` set for the test's experiments."""
    fixture = HttpFaultFixture(httpfault_server)
    monkeypatch.setenv("HTTPFAULT_URL", fixture.url)
    yield fixture
    fixture.cleanup()
