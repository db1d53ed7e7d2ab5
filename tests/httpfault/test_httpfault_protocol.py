"""What passes through untouched: keep-alive, chunked and streamed bodies, large bodies both ways, WebSocket,
TLS to the upstream."""

from __future__ import annotations

import hashlib
import http.client
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websocket
from chaoskit_httpfault import HttpFaultClient, HttpFaultServer
from chaoskit_httpfault.faults import DelayFault

from tests.httpfault.conftest import Inject, add_proxy
from tests.httpfault.upstream import JSON_BODY, http_upstream, self_signed, websocket_upstream


def test_keep_alive_serves_many_requests_on_one_connection(proxy: str) -> None:
    conn = http.client.HTTPConnection(proxy.removeprefix("http://"), timeout=10)
    try:
        for _ in range(5):
            conn.request("GET", "/json")
            response = conn.getresponse()
            assert response.status == 200 and response.read() == JSON_BODY
            assert response.getheader("Connection", "").lower() != "close"
        conn.request("POST", "/upload", body=b"x" * 1000)
        assert conn.getresponse().read().startswith(b'{"size": 1000')
    finally:
        conn.close()


def test_a_chunked_response_streams_chunk_by_chunk(proxy: str, inject: Inject) -> None:
    inject(DelayFault(), delay_ms=1, match={"path": "/echo"})  # a rule on the proxy does not stop streaming
    with requests.get(f"{proxy}/chunked?n=4&gap=0.4", stream=True, timeout=10) as response:
        assert response.headers["Transfer-Encoding"] == "chunked"
        start = time.monotonic()
        arrivals = []
        for line in response.iter_lines():
            arrivals.append(time.monotonic() - start)
            assert line.startswith(b"chunk ")
    assert len(arrivals) == 4
    assert arrivals[0] < 0.3 and arrivals[-1] > 1.0, f"chunks must arrive as sent, not at the end: {arrivals}"


def test_large_bodies_both_ways(proxy: str) -> None:
    with requests.get(f"{proxy}/big?mb=24", stream=True, timeout=30) as response:
        digest, size = hashlib.sha256(), 0
        for chunk in response.iter_content(1 << 16):
            digest.update(chunk)
            size += len(chunk)
    assert size == 24 * 1024 * 1024
    block = bytes(range(256)) * 4096
    assert digest.hexdigest() == hashlib.sha256(block * 24).hexdigest()
    upload = bytes(range(251)) * 40_000  # ~10 MB, streamed chunked by requests (a generator body)
    answer = requests.post(f"{proxy}/upload", data=iter([upload[i : i + 65536] for i in range(0, len(upload), 65536)]),
                           timeout=30).json()  # fmt: skip
    assert answer == {"size": len(upload), "sha256": hashlib.sha256(upload).hexdigest()}


def test_websocket_passes_through(httpfault: HttpFaultClient) -> None:
    with websocket_upstream() as ws_url:
        base = add_proxy(httpfault, "ws", ws_url)
        ws = websocket.create_connection(base.replace("http://", "ws://") + "/ws", timeout=10)
        try:
            for i in range(3):
                ws.send(f"hello {i}")
                assert ws.recv() == f"echo: hello {i}"
            ws.send_binary(b"\x00\x01\x02")
            assert ws.recv() == b"\x00\x01\x02"
        finally:
            ws.close()


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    import ssl

    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with http_upstream(context) as url:
        yield url, cert


def test_tls_to_the_upstream_verified_with_its_ca(tls_upstream: tuple[str, Path]) -> None:
    url, cert = tls_upstream
    with HttpFaultServer(upstream_ca=cert) as server:
        for name, upstream in (("by-ip", url), ("by-name", url.replace("127.0.0.1", "localhost"))):
            base = add_proxy(server.client(), name, upstream)
            response = requests.get(f"{base}/echo", timeout=10)
            assert response.status_code == 200, response.text
            assert response.json()["headers"]["Host"] == upstream.removeprefix("https://")


def test_tls_to_an_untrusted_upstream_fails_with_502(
    httpfault: HttpFaultClient, tls_upstream: tuple[str, Path]
) -> None:
    base = add_proxy(httpfault, "tls", tls_upstream[0])
    response = requests.get(f"{base}/echo", timeout=10)
    assert response.status_code == 502 and "certificate" in response.text.lower()
