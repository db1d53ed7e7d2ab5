"""A tiny HTTP service for the quick start: /health answers 200, and /admin/slow?ms=N makes it slow.

Run: python server.py [PORT]   (no PORT or 0: the OS picks a free one)

It prints ``listening on 127.0.0.1:<port>`` on stdout once it listens: a launcher reads the port it got
instead of choosing one ahead (which races with every other program asking for a free port).
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DELAY_MS = 0.0


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        global DELAY_MS
        url = urlparse(self.path)
        if url.path == "/admin/slow":
            DELAY_MS = float(parse_qs(url.query).get("ms", ["0"])[0])
            body = {"delay_ms": DELAY_MS}
        elif url.path == "/health":
            time.sleep(DELAY_MS / 1000)
            body = {"status": "up", "delay_ms": DELAY_MS}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default (5) stalls under load
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
