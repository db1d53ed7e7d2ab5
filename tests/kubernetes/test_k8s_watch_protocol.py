"""Answers the real control plane cannot be made to give on demand, from a small local HTTP server speaking the
Kubernetes API protocol (a fake, said so): a watch that answers 410 Gone (the view lists again and carries on),
and deletes refused with 429 Too Many Requests and Retry-After (API priority and fairness; the test cluster's
admin is exempt from it, and a priority level always keeps one seat, so a real 429 is not reproducible)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from chaoskit_kubernetes.connection import Conn
from chaoskit_kubernetes.pods import PodKillFault, PodKillParams
from chaoskit_kubernetes.podview import close_views, pod_view
from chaoskit_kubernetes.section import KubernetesSection

from chaoskit.plugin import Context


def _pod(name: str, version: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": version},
        "spec": {"nodeName": "n1"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


class FakeApi(ThreadingHTTPServer):
    request_queue_size = 64
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lists = 0
        self.watches: list[str] = []
        self.deletes: list[tuple[float, str, int]] = []
        self.throttle = 2  # deletes answered 429 before the first one goes through
        self.lock = threading.Lock()
        self.closing = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeApi

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path != "/api/v1/namespaces/ns/pods":
            self._json(404, {"kind": "Status", "code": 404, "message": "not found"})
            return
        if query.get("watch") != ["true"]:
            with self.server.lock:
                self.server.lists += 1
                version = str(100 * self.server.lists)
            pods = [_pod(f"p{i}", version) for i in range(3)]
            self._json(200, {"kind": "PodList", "metadata": {"resourceVersion": version}, "items": pods})
            return
        since = query.get("resourceVersion", [""])[0]
        self.server.watches.append(since)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(kind: str, obj: dict[str, Any]) -> None:
            line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()

        if since == "100":  # the first list's version: compacted meanwhile
            event("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"})
        else:
            event("ADDED", _pod("p3", str(int(since) + 1)))
            self.server.closing.wait(3)  # then the watch ends, as a server-side timeout does
        self.wfile.write(b"0\r\n\r\n")

    def do_DELETE(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        name = self.path.rsplit("/", 1)[-1]
        with self.server.lock:
            refuse = self.server.throttle > 0
            self.server.throttle -= 1
            self.server.deletes.append((time.monotonic(), name, 429 if refuse else 200))
        if refuse:
            status = {"kind": "Status", "code": 429, "reason": "TooManyRequests", "message": "Too many requests"}
            self._json(429, status, {"Retry-After": "1"})
        else:
            self._json(200, _pod(name, "999"))


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[tuple[FakeApi, Path]]:
    server = FakeApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "fake", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
    }))  # fmt: skip
    try:
        yield server, kubeconfig
    finally:
        close_views()
        server.closing.set()
        server.shutdown()
        server.server_close()


def test_the_view_lists_again_after_410_gone(fake_api: tuple[FakeApi, Path]) -> None:
    server, kubeconfig = fake_api
    view = pod_view(Conn(str(kubeconfig), None, False, 5.0), "ns", None, None, "test")
    took = view.wait_for(lambda v: v.total == 4, 10)
    assert took is not None, "the watch resumed after the relist and delivered the new pod"
    assert server.lists == 2 and view.relists == 2
    assert server.watches[:2] == ["100", "200"], "watched from each list's resourceVersion"
    snap = view.snapshot("test")
    assert (snap["total"], snap["ready"], snap["not_ready"]) == (4, 4, 0)


def test_deletes_wait_out_429_with_retry_after(fake_api: tuple[FakeApi, Path], tmp_path: Path) -> None:
    server, kubeconfig = fake_api
    sec = KubernetesSection(kubeconfig=str(kubeconfig), namespaces=["ns"])
    ctx = Context(sections={"kubernetes": sec}, work_dir=tmp_path, timeout=30)
    params = PodKillParams(namespace="ns", label_selector="app=x", mode="all", concurrency=1)
    fault = PodKillFault()
    info = fault.plan(params, ctx)
    done = fault.inject(params, info, ctx)
    assert done is not None and done["killed"] == ["p0", "p1", "p2"]
    codes = [(name, code) for _, name, code in server.deletes]
    assert codes == [("p0", 429), ("p0", 429), ("p0", 200), ("p1", 200), ("p2", 200)]
    gaps = [b[0] - a[0] for a, b in zip(server.deletes[:2], server.deletes[1:3], strict=True)]
    assert all(gap >= 0.9 for gap in gaps), f"each retry waited for Retry-After (1 s): {gaps}"


def test_429_until_the_deadline_fails_naming_the_pods(fake_api: tuple[FakeApi, Path], tmp_path: Path) -> None:
    server, kubeconfig = fake_api
    server.throttle = 10**6
    sec = KubernetesSection(kubeconfig=str(kubeconfig), namespaces=["ns"])
    ctx = Context(sections={"kubernetes": sec}, work_dir=tmp_path, timeout=2.5)
    params = PodKillParams(namespace="ns", label_selector="app=x", mode="all", concurrency=3)
    fault = PodKillFault()
    info = fault.plan(params, ctx)
    t0 = time.monotonic()
    from chaoskit.errors import PluginError

    with pytest.raises(
        PluginError, match=r"3 of 3 failed: .*ns/p0: the API server answered 429.*still refused after \d+ attempts"
    ):
        fault.inject(params, info, ctx)
    assert time.monotonic() - t0 < 6, "gave up at the deadline (90 % of the step's 2.5 s), not retrying on"
