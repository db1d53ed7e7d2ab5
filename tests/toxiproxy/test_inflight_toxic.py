"""A signal while a Toxiproxy toxic's inject is in flight (real `chaoskit run`, real Toxiproxy): the revert waits for
that inject and undoes all of it -- no toxic is added after the journal says the fault was reverted. The same for
the proxies a ``toxiproxy: proxies:`` block declares, while the run-start hook is still creating them.

The inject of ``stream: both`` is two API calls. To hold it in flight deterministically, the run talks to Toxiproxy
through a small HTTP relay on 127.0.0.1 (this file's :class:`Gate`) that forwards every request unchanged to the real
server but holds the second ``POST .../toxics`` (or ``POST /proxies``) until the test releases it. Toxiproxy itself
is real."""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from chaoskit_toxiproxy import ToxiproxyClient

from chaoskit.ports import free_port
from tests.conftest import CHAOSKIT
from tests.e2e import journal_of, start_run
from tests.toxiproxy.toxinet import EchoServer


class _Relay(ThreadingHTTPServer):
    request_queue_size = 64
    daemon_threads = True
    gate: Gate


class _Forward(BaseHTTPRequestHandler):
    server: _Relay

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        gate = self.server.gate
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        gate.arrived(self.command, self.path)
        up = http.client.HTTPConnection(gate.upstream.hostname or "127.0.0.1", gate.upstream.port, timeout=10)
        up.request(self.command, self.path, body or None, {"Content-Type": "application/json"})
        answer = up.getresponse()
        data = answer.read()
        up.close()
        gate.log.append((f"{self.command} {self.path} -> {answer.status}", time.time()))
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type") or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the run may have given up on it
            self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PATCH = _forward


class Gate:
    """Forwards to the real Toxiproxy API; holds the ``hold``-th POST to a path ending in ``path`` until
    :attr:`release`."""

    def __init__(self, upstream: str, hold: int = 2, path: str = "/toxics") -> None:
        self.upstream = urlsplit(upstream)
        self.hold = hold
        self.path = path
        self.posts = 0
        self.held = threading.Event()
        self.release = threading.Event()
        self.log: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self.server = _Relay(("127.0.0.1", 0), _Forward)
        self.server.gate = self
        threading.Thread(target=self.server.serve_forever, daemon=True, name="toxiproxy gate").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def arrived(self, method: str, path: str) -> None:
        if method != "POST" or not path.endswith(self.path):
            return
        with self._lock:
            self.posts += 1
            hold = self.posts == self.hold
        if hold:
            self.held.set()
            self.release.wait(20)  # bounded: a test that fails still ends

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gate(toxiproxy: ToxiproxyClient) -> Iterator[Gate]:
    relay = Gate(toxiproxy.url)
    yield relay
    relay.close()


EXPERIMENT = """\
title: toxic in flight
toxiproxy: {{url: "{url}"}}
method:
  - fault: toxiproxy.latency
    with: {{proxy: "{proxy}", latency_ms: 300, stream: both}}
  - pause: 30s
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_the_second_toxic_is_being_added(
    tmp_path: Path, toxiproxy: ToxiproxyClient, echo: EchoServer, gate: Gate, sig: signal.Signals
) -> None:
    proxy = f"inflight{uuid.uuid4().hex[:6]}"
    toxiproxy.create_proxy(proxy, f"127.0.0.1:{free_port()}", echo.address)
    (tmp_path / "exp.yaml").write_text(EXPERIMENT.format(url=gate.url, proxy=proxy))
    proc = subprocess.Popen(
        [CHAOSKIT, "run", "exp.yaml", "--json", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not gate.held.wait(0.05):
            assert proc.poll() is None, proc.communicate()
        assert [t.stream for t in toxiproxy.toxics(proxy)] == ["upstream"]  # half of the inject is in place
        proc.send_signal(sig)
        time.sleep(0.4)  # the runner is reverting now, waiting (up to 1 s) for this inject
        released = time.time()
        gate.release.set()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert toxiproxy.toxics(proxy) == []  # nothing left, the second toxic included
    journal = json.loads((tmp_path / json.loads(out)["journal"]).read_text())
    assert journal["outcome"] == "interrupted"
    (fault,) = journal["faults"]
    assert fault["reverted_at"] is not None and not fault["revert_error"]
    assert fault["reverted_at"] >= released  # the journal's revert time is after the inject's last call
    assert not [e for e in journal["errors"] if "was still running" in e["message"]], journal["errors"]
    calls = [line for line, _ in gate.log if "/toxics" in line]
    posts = [i for i, line in enumerate(calls) if line.startswith("POST")]
    deletes = [i for i, line in enumerate(calls) if line.startswith("DELETE")]
    assert len(posts) == 2 and len(deletes) == 2 and max(posts) < min(deletes), calls  # no delete raced an add


DECLARED = """\
title: proxies in flight
toxiproxy:
  url: "{url}"
  proxies:
    - {{name: "{a}", listen: "127.0.0.1:{port_a}", upstream: "{upstream}"}}
    - {{name: "{b}", listen: "127.0.0.1:{port_b}", upstream: "{upstream}"}}
method:
  - pause: 30s
"""


def test_signal_while_the_declared_proxies_are_being_created(
    tmp_path: Path, toxiproxy: ToxiproxyClient, echo: EchoServer, isolated_state: Path
) -> None:
    """The run-start hook is creating the second declared proxy when SIGINT comes: the run ends 130 and neither
    proxy is left, although the second one is only created after the run began to end."""
    gate = Gate(toxiproxy.url, hold=2, path="/proxies")
    a, b = (f"declared{uuid.uuid4().hex[:6]}" for _ in range(2))
    (tmp_path / "exp.yaml").write_text(
        DECLARED.format(url=gate.url, a=a, b=b, port_a=free_port(), port_b=free_port(), upstream=echo.address)
    )
    proc = start_run(tmp_path / "exp.yaml")
    try:
        while not gate.held.wait(0.05):
            assert proc.poll() is None, proc.communicate()
        assert a in toxiproxy.proxies() and b not in toxiproxy.proxies()  # half of the hook's work is done
        proc.send_signal(signal.SIGINT)
        time.sleep(0.4)  # the run is ending now, while the hook still waits for its second proxy
        gate.release.set()
        _, err = proc.communicate(timeout=60)
    finally:
        gate.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    left = sorted(set(toxiproxy.proxies()) & {a, b})
    for name in left:
        toxiproxy.delete_proxy(name)
    assert left == [], f"left behind: {left}"
    assert journal_of(tmp_path / "exp.yaml")["outcome"] == "interrupted"
    ledgers = {p.name: p.read_text() for p in isolated_state.rglob("*.json") if "proxies" in p.read_text()}
    assert not ledgers, ledgers  # no ledger left
