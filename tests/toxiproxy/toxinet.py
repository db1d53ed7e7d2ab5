"""Real loopback TCP helpers for the Toxiproxy tests: an echo upstream and measurements through a proxy."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from dataclasses import dataclass

from chaoskit_toxiproxy import ToxiproxySection

from chaoskit.plugin import Context

CLOSE = b"<close>"


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)
                if data.endswith(CLOSE):
                    return  # the upstream closes the connection
        except OSError:
            return


class _Server(socketserver.ThreadingTCPServer):
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class EchoServer:
    """A TCP echo server on 127.0.0.1: echoes; closes on EOF or after echoing data that ends with ``CLOSE``."""

    server: _Server

    @classmethod
    def start(cls) -> EchoServer:
        server = _Server(("127.0.0.1", 0), _EchoHandler)
        threading.Thread(target=server.serve_forever, daemon=True, name="echo upstream").start()
        return cls(server)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def round_trip_ms(sock: socket.socket, payload: bytes = b"ping") -> float:
    """Send ``payload`` and read its echo back; the time in ms."""
    start = time.perf_counter()
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(got)} of {len(payload)} bytes")
        got += chunk
    return (time.perf_counter() - start) * 1000


def median_rtt_ms(port: int, samples: int = 5, timeout: float = 10.0) -> float:
    with connect(port, timeout) as sock:
        values = sorted(round_trip_ms(sock) for _ in range(samples))
    return values[len(values) // 2]


def time_to_close(port: int, timeout: float = 10.0) -> float:
    """Ask the upstream to close (``CLOSE``); seconds until the client sees the end of the connection."""
    with connect(port, timeout) as sock:
        start = time.perf_counter()
        sock.sendall(CLOSE)
        got = b""
        while True:
            chunk = sock.recv(1024)
            if not chunk:
                break
            got += chunk
        if got != CLOSE:
            raise ConnectionError(f"expected the echo {CLOSE!r}, got {got!r}")
        return time.perf_counter() - start


def echo_all(port: int, size: int, timeout: float = 30.0) -> tuple[bytes, float, list[int]]:
    """Send ``size`` bytes (from a thread) and read the echo until all came back, EOF or a reset.
    Returns (data, seconds, sizes of each recv). (Toxiproxy does not keep TCP half-close: no shutdown here.)"""
    payload = bytes(i % 251 for i in range(size))
    with connect(port, timeout) as sock:

        def send() -> None:
            with contextlib.suppress(OSError):
                sock.sendall(payload)

        start = time.perf_counter()
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        got = bytearray()
        chunks: list[int] = []
        try:
            while len(got) < size:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(len(chunk))
                got += chunk
        except ConnectionResetError:
            pass
        seconds = time.perf_counter() - start
        sender.join(timeout=timeout)
    return bytes(got), seconds, chunks


def make_ctx(url: str, run_id: str = "test", dry_run: bool = False, **section: object) -> Context:
    """A plugin Context whose ``toxiproxy:`` section points at ``url``."""
    return Context(
        run_id=run_id,
        dry_run=dry_run,
        sections={"toxiproxy": ToxiproxySection.model_validate({"url": url, **section})},
    )
