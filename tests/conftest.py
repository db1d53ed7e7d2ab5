"""Shared fixtures for the whole suite: real loopback servers, the CLI in a subprocess, isolated state."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAOSKIT = str(Path(sys.executable).with_name("chaoskit"))
# A test that runs scripts/demo must not sync the test-only plugins out of this environment (see bootstrap.sh).
os.environ["CHAOSKIT_TEST_ENV"] = "1"


def wait_port(port: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class ServiceState:
    """Behaviour of the test HTTP service, changed by tests while it runs."""

    status: int = 200
    delay_s: float = 0.0
    body: str = '{"status": "up"}'
    hits: int = 0
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    broken_when: Path | None = None
    """Answer 503 while this file exists (a state file an action can break)."""


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's default backlog (5) stalls behind proxies and under load
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class HttpService:
    port: int
    state: ServiceState
    server: _Server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_http_service(state: ServiceState | None = None, port: int = 0) -> HttpService:
    state = state or ServiceState()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.hits += 1
            state.headers_seen.append(dict(self.headers.items()))
            if state.delay_s:
                time.sleep(state.delay_s)
            data = state.body.encode()
            broken = state.broken_when is not None and state.broken_when.exists()
            self.send_response(503 if broken else state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return HttpService(server.server_address[1], state, server)


def wait_for(cond: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``cond()`` every ``interval`` seconds until it is truthy and return its value; fail after ``timeout``
    seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not true after {timeout}s: {what}")


@pytest.fixture
def http_service() -> Iterator[HttpService]:
    """A real HTTP service on a free loopback port; tests steer it through ``.state``."""
    service = start_http_service()
    yield service
    service.server.shutdown()
    service.server.server_close()


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    """Secrets stay hidden for the rest of a process (chaoskit/redaction.py): one test's must not hide another's."""
    yield
    from chaoskit.redaction import forget

    forget()


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own chaoskit state folder (ledgers), so tests and xdist workers never mix."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(state))
    return state


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``chaoskit`` command in a subprocess."""
    return subprocess.run(
        [CHAOSKIT, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    assert shutil.which(CHAOSKIT) or Path(CHAOSKIT).exists(), f"{CHAOSKIT} is not installed"
    return run_cli
