"""``chaoskit run --serve``: a live page for everyone watching a game day, and a HALT button.

* ``GET /`` the page (no external asset; works offline; the HALT button is reachable from the keyboard);
* ``GET /state`` the current state as JSON; ``GET /events`` the same as server-sent events, on every change;
* ``POST /halt`` the kill switch (:func:`chaoskit.run.halt.halt`): every live run of this machine reverts its
  faults and ends ``aborted``; new runs are refused until ``chaoskit halt --release``;
* ``POST /gate`` ``{"id", "go"}`` answers the game day's waiting gate (the terminal may answer too: the first
  answer wins, 409 tells the other who answered); ``POST /note`` ``{"text"}`` takes a participant's note (into
  the day's index, and the running experiment's journal).

POSTs take a JSON object (``Content-Type: application/json``), so another site's page cannot send one without
the browser asking first (CORS), and that is never allowed here.

Loopback by default. On any other address a token is required (``--serve-token-env NAME``): the page is opened as
``/?token=...``, and every request must carry it (query or ``Authorization: Bearer``). A page left open after the
run keeps showing the final state.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chaoskit.live.state import LiveState

LOOPBACK = ("127.", "localhost", "::1")
MAX_STREAMS = 32
MAX_BODY = 16 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: LiveServer
    protocol_version = "HTTP/1.1"
    timeout = 30

    def _authorized(self) -> bool:
        token = self.server.token
        if token is None:
            return True
        query = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
        header = self.headers.get("Authorization", "").removeprefix("Bearer ")
        return any(hmac.compare_digest(given.encode(), token.encode()) for given in (query, header) if given)

    def do_GET(self) -> None:
        if not self._authorized():
            return self._send(401, b"a token is required (?token=... or Authorization: Bearer)", "text/plain")
        path = urlsplit(self.path).path
        if path == "/":
            return self._send(200, PAGE, "text/html; charset=utf-8")
        if path == "/state":
            return self._send(200, json.dumps(self.server.state.snapshot()).encode(), "application/json")
        if path == "/events":
            return self._events()
        return self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        if not self._authorized():
            return self._send(401, b"a token is required", "text/plain")
        path = urlsplit(self.path).path
        action = {"/halt": self._halt, "/gate": self._gate, "/note": self._note}.get(path)
        if action is None:
            return self._send(404, b"not found", "text/plain")
        # JSON only: a page of another site cannot send that without the browser asking this server first (CORS).
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            wanted = f"POST {path}: send a JSON object (Content-Type: application/json)"
            return self._send(415, wanted.encode(), "text/plain")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._send(413, f"POST {path}: the body is over {MAX_BODY} bytes".encode(), "text/plain")
        try:
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        except ValueError as exc:
            return self._send(400, f"POST {path}: the body is not JSON: {exc}".encode(), "text/plain")
        if not isinstance(body, dict):
            return self._send(400, f"POST {path}: the body must be a JSON object".encode(), "text/plain")
        status, answer = action(body, f"live view ({self.client_address[0]})")
        return self._send(status, json.dumps(answer).encode(), "application/json")

    def _halt(self, body: dict[str, Any], by: str) -> tuple[int, dict[str, Any]]:
        from chaoskit.run.halt import halt

        reason = str(body.get("reason") or "HALT pressed in the live view")
        state = halt(reason=reason[:200], by=by)
        self.server.state.note_halt(f"halted {state.who_when()}: {state.reason}")
        return 200, {"halted": True, "reason": state.reason}

    def _gate(self, body: dict[str, Any], by: str) -> tuple[int, dict[str, Any]]:
        gate_id, go = body.get("id"), body.get("go")
        if not isinstance(gate_id, int) or isinstance(gate_id, bool) or not isinstance(go, bool):
            return 400, {"error": 'POST /gate: expected {"id": <the gate\'s id>, "go": true | false}'}
        won, record = self.server.state.answer_gate(gate_id, go, by)
        if record is None:
            return 404, {"error": f"POST /gate: no gate {gate_id} is waiting"}
        return (200 if won else 409), {"won": won, "answer": record}

    def _note(self, body: dict[str, Any], by: str) -> tuple[int, dict[str, Any]]:
        text = body.get("text")
        if not isinstance(text, str):
            return 400, {"error": 'POST /note: expected {"text": "..."}'}
        try:
            return 200, {"note": self.server.state.add_note(text, by)}
        except ValueError as exc:
            return 400, {"error": f"POST /note: {exc}"}

    def _events(self) -> None:
        with self.server.streams_lock:
            if self.server.streams >= MAX_STREAMS:
                return self._send(503, b"too many viewers", "text/plain")
            self.server.streams += 1
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            version = -1
            while not self.server.stopping.is_set():
                snapshot = self.server.state.snapshot()
                version = snapshot["version"]
                self.wfile.write(f"data: {json.dumps(snapshot)}\n\n".encode())
                self.wfile.flush()
                if snapshot["finished"]:
                    return
                self.server.state.wait_change(version, 1.0)  # at least once a second: the countdowns move
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return
        finally:
            with self.server.streams_lock:
                self.server.streams -= 1
            self.close_connection = True

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], state: LiveState, token: str | None) -> None:
        self.state = state
        self.token = token
        self.stopping = threading.Event()
        self.streams = 0
        self.streams_lock = threading.Lock()
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[0], self.server_address[1]
        host = host.decode() if isinstance(host, bytes) else host
        suffix = f"/?token={self.token}" if self.token else "/"
        return f"http://{host}:{port}{suffix}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def stop(self) -> None:
        """Send the final state to every open page, then stop serving."""
        self.state.finish()
        deadline = time.monotonic() + 1.0
        while self.streams and time.monotonic() < deadline:  # their last event carries finished: true
            time.sleep(0.05)
        self.stopping.set()
        self.shutdown()
        self.server_close()


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--serve {text!r}: expected HOST:PORT (e.g. 127.0.0.1:8089; port 0 = any free port)")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    return host.startswith(LOOPBACK)


PAGE = files("chaoskit.live").joinpath("page.html").read_bytes()
