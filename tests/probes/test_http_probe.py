"""The ``http`` and ``tcp`` probes against real servers on 127.0.0.1: what a request sends, what an observation
holds, redirects, TLS verification, timeouts, proxies from the environment, and the errors a user sees."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from chaoskit_http.probes import HttpParams, HttpProbe
from chaoskit_http.tcp import TcpParams, TcpProbe

from chaoskit.errors import PluginError
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context
from tests.httpfault.upstream import http_upstream, self_signed


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's default backlog (5) stalls under bursts
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    """/echo: the request as JSON; /to?c=CODE&at=PATH: a redirect (to itself without at); /slow: answers after
    3 s; /close: a body without a length, ended by closing; /chunked: a chunked body; /missing: 404 with a body."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]] = []  # noqa: RUF012 (one list per server class, see _serve)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        seen = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
        type(self).seen.append(seen)
        path, _, query = self.path.partition("?")
        args = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/to":
            self._send(int(args["c"]), b"moved", Location=args.get("at", self.path))  # no at: to itself
        elif path == "/slow":
            time.sleep(3)
            with contextlib.suppress(OSError):  # the client gave up long ago
                self._send(200, b"{}")
        elif path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            self.close_connection = True
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"parts": ', b"[1, 2", b"]}"):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/missing":
            self._send(404, b'{"error": "no such thing"}')
        else:
            self._send(200, json.dumps(seen).encode(), X_Served_By="test")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    handler: type[_Handler] = type("Handler", (_Handler,), {"seen": []})
    srv = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", handler.seen
    finally:
        srv.shutdown()
        srv.server_close()


def observe(**params: Any) -> Observation:
    obs: Observation = HttpProbe().observe(
        HttpParams.model_validate(params), Context(headers=lambda: {"traceparent": "00-t"})
    )
    return obs


def test_get_observes_status_latency_body_json_and_headers(server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = server
    obs = observe(url=url + "/echo?x=1", headers={"X-Token": "abc"})
    assert obs.value == 200 and obs.details["status"] == 200
    assert obs.details["json"]["path"] == "/echo?x=1"
    assert obs.details["headers"]["X-Served-By"] == "test"
    assert 0 < obs.details["latency_ms"] < 5000
    sent = seen[0]["headers"]
    assert sent["X-Token"] == "abc" and sent["traceparent"] == "00-t"
    assert sent["Host"] == url.removeprefix("http://") and sent["Connection"] == "close"
    assert sent["User-Agent"].startswith("chaoskit/")


def test_bodies_methods_and_content_types(server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = server
    assert observe(url=url + "/echo", method="POST", json={"a": [1]}).details["json"]["body"] == '{"a": [1]}'
    assert seen[-1]["headers"]["Content-Type"] == "application/json"
    observe(url=url + "/echo", method="PUT", body="plain", headers={"content-type": "text/plain"})
    assert seen[-1]["body"] == "plain" and seen[-1]["headers"]["content-type"] == "text/plain"
    assert "Content-Type" not in seen[-1]["headers"]
    observe(url=url + "/echo", method="POST")
    assert seen[-1]["headers"]["Content-Length"] == "0"
    head = observe(url=url + "/echo", method="HEAD")
    assert head.value == 200 and head.details["body"] == ""


def test_error_statuses_are_observations_not_errors(server: tuple[str, list[dict[str, Any]]]) -> None:
    obs = observe(url=server[0] + "/missing")
    assert obs.value == 404 and obs.details["json"] == {"error": "no such thing"}


def test_bodies_without_a_length_and_chunked(server: tuple[str, list[dict[str, Any]]]) -> None:
    assert observe(url=server[0] + "/close").details["body"] == "until the end"
    assert observe(url=server[0] + "/chunked").details["json"] == {"parts": [1, 2]}


def test_redirects_are_followed_like_urllib(server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = server
    obs = observe(url=f"{url}/to?c=302&at=/echo", headers={"Authorization": "Bearer s3cret"})
    assert obs.value == 200 and obs.details["json"]["path"] == "/echo"
    assert seen[-1]["headers"]["Authorization"] == "Bearer s3cret"  # same host: kept
    post = observe(url=f"{url}/to?c=303&at=/echo", method="POST", json={"a": 1})
    assert post.details["json"]["method"] == "GET" and post.details["json"]["body"] == ""
    assert "Content-Type" not in seen[-1]["headers"]
    assert observe(url=f"{url}/to?c=307&at=/echo", method="PUT", body="x").value == 307  # not redirected
    assert observe(url=f"{url}/to?c=308&at=/echo", method="HEAD").value == 200
    assert observe(url=f"{url}/to?c=301&at=/echo", follow_redirects=False).value == 301
    before = len(seen)
    loop = observe(url=f"{url}/to?c=302")
    assert loop.value == 302 and loop.details["body"] == "moved"  # the last redirect is the observation
    assert len(seen) - before == 11  # the request and 10 redirects


def test_redirect_to_another_host_drops_credentials(server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = server
    other = url.replace("127.0.0.1", "localhost")
    obs = observe(url=f"{url}/to?c=302&at={other}/echo", headers={"Authorization": "Bearer s3cret", "X-Keep": "1"})
    assert obs.value == 200
    assert "Authorization" not in seen[-1]["headers"] and seen[-1]["headers"]["X-Keep"] == "1"


def test_timeout_is_one_deadline_and_the_error_names_the_request(server: tuple[str, list[dict[str, Any]]]) -> None:
    started = time.monotonic()
    with pytest.raises(PluginError, match=r"^GET http://127\.0\.0\.1:\d+/slow: timed out$"):
        observe(url=server[0] + "/slow", timeout="300ms")
    assert time.monotonic() - started < 2.5


def test_connection_refused_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(PluginError, match=rf"^POST http://127\.0\.0\.1:{port}/x: \[Errno 111\] Connection refused"):
            observe(url=f"http://127.0.0.1:{port}/x", method="POST", headers={"Authorization": "s3cret"})


def test_a_header_with_a_line_break_is_refused_without_showing_its_value(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    with pytest.raises(PluginError) as caught:
        observe(url=server[0] + "/echo", headers={"X-Api-Key": "s3cret\r\nX-Evil: 1"})
    assert "'X-Api-Key'" in str(caught.value) and "s3cret" not in str(caught.value)
    assert server[1] == []


def test_a_server_that_does_not_speak_http_is_a_clear_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH\r\n")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    with listener, pytest.raises(PluginError, match=r"not an HTTP/1\.x status line: b'SSH-2\.0"):
        observe(url=f"http://127.0.0.1:{listener.getsockname()[1]}/")


@pytest.fixture(scope="module")
def tls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with http_upstream(context) as url:
        yield url


def test_tls_is_verified_unless_verify_tls_is_off(tls_url: str) -> None:
    with pytest.raises(PluginError, match="CERTIFICATE_VERIFY_FAILED"):
        observe(url=tls_url + "/echo")
    obs = observe(url=tls_url + "/echo", verify_tls=False)
    assert obs.value == 200 and obs.details["json"]["path"] == "/echo"


class _Proxy(ThreadingHTTPServer):
    """A forward proxy: absolute-URI GETs are answered by itself; CONNECT opens a real tunnel to the target."""

    request_queue_size = 128
    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.seen.append(f"GET {self.path} {self.headers.get('Proxy-Authorization', '')}".strip())
                body = b'{"via": "proxy"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self) -> None:
                proxy.seen.append(f"CONNECT {self.path}")
                host, port = self.path.rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=5) as upstream:
                    self.send_response(200, "Connection established")
                    self.end_headers()
                    ends = [self.connection, upstream]
                    while True:
                        ready, _, _ = select.select(ends, [], [], 5)
                        if not ready:
                            return
                        for end in ready:
                            data = end.recv(65536)
                            if not data:
                                return
                            (upstream if end is self.connection else self.connection).sendall(data)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    srv = _Proxy()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def test_proxies_from_the_environment(
    proxy: _Proxy, tls_url: str, server: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = server
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{proxy.server_address[1]}")
    assert observe(url=url + "/echo?q=1").details["json"] == {"via": "proxy"}
    assert proxy.seen == [f"GET {url}/echo?q=1 Basic dXNlcjpwdw=="] and seen == []
    monkeypatch.setenv("no_proxy", "example.org, 127.0.0.1")
    assert observe(url=url + "/echo").details["json"]["path"] == "/echo"  # bypassed: straight to the server
    monkeypatch.setenv("https_proxy", f"127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("no_proxy", "")
    obs = observe(url=tls_url + "/echo", verify_tls=False)
    assert obs.details["json"]["path"] == "/echo"  # through the tunnel, TLS end to end
    assert proxy.seen[-1] == "CONNECT " + tls_url.removeprefix("https://")


def test_tcp_probe_connects_or_says_why(server: tuple[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    port = int(server[0].rsplit(":", 1)[1])
    ok = TcpProbe().observe(TcpParams(port=port), Context())
    assert ok.value is True and ok.details["latency_ms"] >= 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = TcpProbe().observe(TcpParams(port=s.getsockname()[1]), Context())
    assert refused.value is False and "Connection refused" in refused.details["error"]
