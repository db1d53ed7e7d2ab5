"""Small HTTP pieces shared by the shop's services: a threaded server, JSON replies, a JSON client call."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

Route = Callable[["Handler", Any], tuple[int, Any]]


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog (5) drops connections under load and behind proxies
    daemon_threads = True
    allow_reuse_address = True


def add_listen_args(parser: argparse.ArgumentParser) -> None:
    """``--port`` and ``--port-file``: how a service gets its port without a race (see :func:`listen`)."""
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: the OS picks a free one)")
    parser.add_argument(
        "--port-file",
        type=Path,
        default=None,
        help="write the port it listens on here; with --port 0 and a port already in the file (a restart by the "
        "supervisor), listen on that port again",
    )


def listen(args: argparse.Namespace, handler: type[BaseHTTPRequestHandler]) -> Server:
    """Bind 127.0.0.1 on ``args.port``, or on port 0 so the OS picks a free port, and report it in
    ``args.port_file``. A port chosen by the launcher ahead of time could be taken by someone else before the
    service binds it; a port the service binds itself cannot. A restarted replica keeps the port in its file,
    so the proxy in front of it still reaches it."""
    port_file: Path | None = args.port_file
    port = int(args.port)
    if not port and port_file is not None and port_file.exists():
        port = int(port_file.read_text().strip() or 0)
    server = Server(("127.0.0.1", port), handler)
    if port_file is not None:
        tmp = port_file.with_name(port_file.name + ".tmp")
        tmp.write_text(f"{server.server_address[1]}\n", encoding="utf-8")
        os.replace(tmp, port_file)  # atomic: a reader never sees a half-written number
    return server


class Handler(BaseHTTPRequestHandler):
    """Dispatches ``METHOD /path`` to ``routes`` (set per service); replies with JSON."""

    protocol_version = "HTTP/1.1"
    routes: ClassVar[dict[tuple[str, str], Route]] = {}
    on_request: ClassVar[Callable[[Any, Callable[[], tuple[int, Any]]], tuple[int, Any]] | None] = None

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        route = self.routes.get((method, path))
        if route is None:
            prefix = next((p for (m, p) in self.routes if m == method and p.endswith("/") and path.startswith(p)), None)
            route = self.routes.get((method, prefix)) if prefix else None
        body: dict[str, Any] | None = None
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                self.reply(400, {"error": "request body is not JSON"})
                return
        if route is None:
            self.reply(404, {"error": f"no route {method} {path}"})
            return
        call = route  # bind for the closure

        def handle() -> tuple[int, Any]:
            return call(self, body)

        try:
            wrap = type(self).on_request
            status, payload = wrap(self, handle) if wrap is not None else handle()
        except Exception as exc:  # a bug in a handler is a 500, never a dropped connection
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        self.reply(status, payload)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class CallError(Exception):
    """A dependency call failed: refused, reset, timed out, or answered 5xx."""


def call_json(
    url: str, method: str = "GET", body: Any = None, timeout: float | None = 2.0, headers: dict[str, str] | None = None
) -> Any:
    """One HTTP call; returns the decoded JSON. ``timeout=None`` waits forever (see payments' weakness)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=data, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise CallError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    if response.status >= 500:
        raise CallError(f"{method} {url}: HTTP {response.status}")
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise CallError(f"{method} {url}: answer is not JSON") from exc


def serve(server: Server, name: str, on_stop: Callable[[], None] = lambda: None) -> None:
    """Serve until SIGTERM/SIGINT, then shut down cleanly (flushing spans through ``on_stop``)."""
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{name}: listening on 127.0.0.1:{server.server_address[1]} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        on_stop()


def die_with_parent() -> None:
    """Linux: get SIGTERM when the parent process dies, so a SIGKILLed launcher leaves no orphans."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
