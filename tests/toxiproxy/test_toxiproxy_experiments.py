"""The ready experiments in experiments/: valid as shipped, and they run for real against a service whose
health depends on a TCP dependency reached through the proxy the experiment declares."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from chaoskit_toxiproxy import ToxiproxyClient

from chaoskit.loader import load_experiment
from chaoskit.ports import free_port
from tests.toxiproxy.toxinet import EchoServer

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ["dependency-latency.yaml", "dependency-outage.yaml"]
Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_the_experiments_are_valid_as_shipped(name: str) -> None:
    loaded = load_experiment(ROOT / "experiments" / name)
    assert loaded.sections["toxiproxy"].proxies[0].name == "dependency"  # type: ignore[attr-defined]


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


@pytest.fixture
def service() -> Iterator[tuple[str, list[int]]]:
    """An HTTP service whose /health round-trips to its dependency (``dependency[0]``, a port) over TCP:
    200 when the dependency answers, 503 quickly when it cannot be reached."""
    dependency = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                with socket.create_connection(("127.0.0.1", dependency[0]), timeout=2) as sock:
                    sock.sendall(b"ping")
                    ok = sock.recv(16) == b"ping"
            except OSError:
                ok = False
            body = json.dumps({"dependency": "up" if ok else "down"}).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health", dependency
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("dependency-latency.yaml", ["latency_ms=200", "jitter_ms=10", "fault_duration=3s"]),
        ("dependency-outage.yaml", ["outage_duration=3s", "recovery_within=10s"]),
    ],
)
def test_the_experiments_pass_against_a_resilient_service(
    cli: Cli,
    name: str,
    extra: list[str],
    service: tuple[str, list[int]],
    echo: EchoServer,
    toxiproxy: ToxiproxyClient,
    tmp_path: Path,
) -> None:
    url, dependency = service
    listen = free_port()
    dependency[0] = listen  # the service reaches its dependency through the proxy
    variables = [
        f"service_url={url}",
        f"toxiproxy_url={toxiproxy.url}",
        f"dependency_listen=127.0.0.1:{listen}",
        f"dependency_upstream={echo.address}",
        *extra,
    ]
    args = [arg for v in variables for arg in ("--var", v)]
    result = cli("run", str(ROOT / "experiments" / name), *args, "--json", "--out", str(tmp_path), cwd=tmp_path)
    verdict = json.loads(result.stdout)
    assert (result.returncode, verdict["outcome"]) == (0, "passed"), result.stderr
    journal = json.loads(Path(verdict["journal"]).read_text())
    during = [o for o in journal["observations"] if o["phase"] == "method"]
    if name == "dependency-outage.yaml":  # the outage was real: the service reported it
        assert any(o["value"] == 503 for o in during), during
    else:  # the latency was real: the service got slower, within its budget
        assert any(o["details"]["latency_ms"] >= 190 for o in during), during
    assert toxiproxy.proxies() == {}
