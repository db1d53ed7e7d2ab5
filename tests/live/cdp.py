"""A small Chrome DevTools Protocol client for the live-view tests: headless Chromium with
``--remote-debugging-port=0`` on 127.0.0.1 (the port is read from ``DevToolsActivePort`` in the profile), and a
stdlib WebSocket (RFC 6455, client side: masked text frames out; text, continuation, ping and close in).

The tests drive the page the way a person does: mouse clicks at an element's centre and typed keys
(``Input.dispatchMouseEvent`` / ``Input.insertText`` / ``Input.dispatchKeyEvent``), ``confirm()`` dialogs answered
through ``Page.handleJavaScriptDialog``, and the DOM read back with ``Runtime.evaluate``. Every wait is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.demo.browser import FLAGS


class CdpError(AssertionError):
    pass


class WebSocket:
    """Just enough of a WebSocket client for CDP on 127.0.0.1."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        assert url.startswith("ws://127.0.0.1:"), url
        host_port, _, path = url[len("ws://") :].partition("/")
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise CdpError(f"the DevTools socket closed during the handshake: {head!r}")
            head += chunk
        head, _, self.buffer = head.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise CdpError(f"no WebSocket upgrade: {head[:200]!r}")

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise CdpError("the DevTools socket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        head = bytes([0x80 | opcode])
        if size < 126:
            head += bytes([0x80 | size])
        elif size < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", size)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", size)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, text: str) -> None:
        self._frame(0x1, text.encode())

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            opcode, size = first & 0x0F, second & 0x7F
            if size == 126:
                size = struct.unpack(">H", self._read(2))[0]
            elif size == 127:
                size = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(size)
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise CdpError("the browser closed the DevTools connection")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._frame(0x8, b"")
        self.sock.close()


class Page:
    """One page target of a headless Chromium, driven over CDP."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.dialogs: list[str] = []
        self.accept_dialogs = True
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _event(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Page.javascriptDialogOpening":
            self.dialogs.append(str(message["params"].get("message", "")))
            self._send("Page.handleJavaScriptDialog", {"accept": self.accept_dialogs})

    def _send(self, method: str, params: dict[str, Any] | None = None) -> int:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        return self.next_id

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        wanted = self._send(method, params)
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == wanted:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self._event(message)

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", timeout=30)

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60, what: str = "") -> Any:
        """Poll ``expression`` in the page until it is truthy; its value. Fails after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < end:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.2)
        body = self.eval("document.body ? document.body.innerText : ''")
        raise CdpError(f"timed out after {timeout} s waiting for {what or expression}; the page shows:\n{body}")

    def text(self, element_id: str) -> str:
        return str(self.eval(f"(document.getElementById({json.dumps(element_id)}) || {{}}).innerText || ''"))

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element (scrolled into view first)."""
        box = self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if not box:
            raise CdpError(f"nothing on the page matches {selector}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def type(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` (as a keyboard would insert it)."""
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", {"text": text})

    def press(self, key: str, code: int, modifiers: int = 0, text: str = "") -> None:
        """A key press and release on the focused element (``modifiers``: 1 Alt, 2 Ctrl, 4 Meta, 8 Shift;
        ``text``: what the key types, e.g. ``"\\r"`` for Enter)."""
        base = {"key": key, "code": key, "windowsVirtualKeyCode": code, "modifiers": modifiers}
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", **base, **({"text": text} if text else {})})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", **base})


class Browser:
    """Headless Chromium with remote debugging on 127.0.0.1 (a fresh profile); use as a context manager."""

    def __init__(self, binary: str, profile: Path, timeout: float = 60) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        self.log = (profile / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1100,1400",
                "about:blank",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        port_file = profile / "DevToolsActivePort"
        end = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.process.poll() is not None or time.monotonic() > end:
                self.close()
                raise CdpError(f"chromium did not start its DevTools endpoint: {self._log_tail()}")
            time.sleep(0.1)
        self.port = int(port_file.read_text().splitlines()[0])
        self.pages: list[Page] = []

    def _log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_bytes()[-2000:].decode(errors="replace")

    def page(self) -> Page:
        """The first page target (the ``about:blank`` tab)."""
        end = time.monotonic() + 30
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as answer:
                targets = [t for t in json.loads(answer.read()) if t.get("type") == "page"]
            if targets or time.monotonic() > end:
                break
            time.sleep(0.1)
        if not targets:
            raise CdpError("chromium has no page target")
        page = Page(WebSocket(targets[0]["webSocketDebuggerUrl"]))
        self.pages.append(page)
        return page

    def close(self) -> None:
        for page in getattr(self, "pages", []):
            page.ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
