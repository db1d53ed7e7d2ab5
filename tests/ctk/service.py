"""The system under test for the CTK parity cases: a small stateful HTTP service on 127.0.0.1.

Used both by ``record_ctk.py`` (which runs real Chaos Toolkit against it) and by the tests (which run
chaoskit against it), so both tools see the same behaviour.

GET  /health  200 + JSON while healthy, 500 + JSON once broken
GET  /text    200 text/plain
GET  /echo    200 JSON: the query arguments and the Authorization header's length
POST /echo    200 JSON: the body received and its content type
GET  /slow    answers after 3 s
POST /break   the service becomes unhealthy;  POST /fix  healthy again
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's default backlog (5) is too small
    daemon_threads = True
    allow_reuse_address = True
    healthy = True
    breaks = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a probe's timeout on /slow) is part of the tests, not an error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = (json.dumps(body) if content_type == "application/json" else str(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urllib.parse.urlparse(self.path)
        if url.path == "/health":
            healthy = self.server.healthy
            items = [{"name": "db", "ok": healthy}, {"name": "cache", "ok": True}]
            body = {"status": "up" if healthy else "down", "version": "1.4.2", "replicas": 3, "items": items}
            self._send(200 if healthy else 500, body)
        elif url.path == "/text":
            self._send(200, "service is up and running", "text/plain")
        elif url.path == "/echo":
            auth = self.headers.get("Authorization") or ""
            self._send(200, {"args": dict(urllib.parse.parse_qsl(url.query)), "auth_length": len(auth)})
        elif url.path == "/slow":
            time.sleep(3)
            self._send(200, {"slow": True})
        elif url.path == "/breaks":
            self._send(200, {"breaks": self.server.breaks})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if self.path == "/break":
            self.server.healthy = False
            self.server.breaks += 1
            self._send(200, {"healthy": False})
        elif self.path == "/fix":
            self.server.healthy = True
            self._send(200, {"healthy": True})
        elif self.path == "/echo":
            self._send(200, {"body": raw, "content_type": self.headers.get("Content-Type")})
        else:
            self._send(404, {"error": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Service:
    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="ctk test service", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        self.server.healthy = True
        self.server.breaks = 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
