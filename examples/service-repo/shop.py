"""The shop: the service this repo owns. ``python shop.py PORT CATALOG_URL`` (PORT 0: any free port); prints
``listening on 127.0.0.1:<port>`` once it listens.

``GET /products`` asks the catalog (timeout 0.5 s) and falls back to the last good answer when the
catalog is slow or down -- the resilience property the chaos tests check. ``GET /live-products``
has no fallback (to show what a failing chaos test looks like). ``GET /health`` is always cheap.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CATALOG_TIMEOUT_S = 0.5


class Shop:
    def __init__(self, catalog_url: str) -> None:
        self.catalog_url = catalog_url
        self.cached: bytes | None = None
        self.lock = threading.Lock()

    def fetch(self) -> bytes:
        with urllib.request.urlopen(self.catalog_url, timeout=CATALOG_TIMEOUT_S) as response:
            body: bytes = response.read()
        with self.lock:
            self.cached = body
        return body

    def products(self, fallback: bool) -> tuple[int, bytes]:
        try:
            return 200, self.fetch()
        except OSError as exc:
            with self.lock:
                cached = self.cached
            if fallback and cached is not None:
                return 200, cached
            return 503, json.dumps({"error": f"catalog unavailable: {exc}"}).encode()


def make_handler(shop: Shop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/health":
                status, body = 200, b'{"status": "up"}'
            elif self.path == "/products":
                status, body = shop.products(fallback=True)
            elif self.path == "/live-products":
                status, body = shop.products(fallback=False)
            else:
                status, body = 404, b'{"error": "not found"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a probe's timeout) makes the late answer fail with a broken pipe: not a shop error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1])), make_handler(Shop(sys.argv[2])))
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
