"""What the benchmarks share: percentiles and a loopback HTTP service. Imported as ``_common`` (a benchmark runs
as ``python bench/<name>.py``, so this folder is on ``sys.path``). Not part of the test run."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    """p50 and p99 (rounded to 3 decimals) and the count."""
    return {"p50": round(pct(values, 50), 3), "p99": round(pct(values, 99), 3), "n": len(values)}


class BenchServer(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's default backlog (5) stalls under bursts
    daemon_threads = True


class OkHandler(BaseHTTPRequestHandler):
    """Answers every GET with 200 ``ok`` (keep-alive)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler] = OkHandler) -> BenchServer:
    """A :class:`BenchServer` on a free loopback port, serving in a daemon thread (``shutdown()`` it)."""
    server = BenchServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="bench http", daemon=True).start()
    return server
