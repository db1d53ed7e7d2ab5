"""A ``chaoskit run|gameday --serve 127.0.0.1:0`` in a subprocess for the live-view tests: the page's address read
from its ``live view:`` line, its stderr kept, JSON calls to its endpoints, and a hard stop when the test ends."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

import pytest

from tests.demo.browser import chromium


def need_chromium() -> str:
    binary = chromium()
    if binary is None:
        pytest.fail("chromium is not installed: run scripts/setup-chromium.sh (scripts/test does)")
    return binary


class LiveProcess:
    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
        start_timeout: float = 60,
    ) -> None:
        self.process = subprocess.Popen(
            argv, cwd=cwd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._drain, daemon=True).start()
        line = self.wait_stderr("live view: ", start_timeout)
        self.url = line.split("live view: ", 1)[1].strip()
        self.base = self.url.split("/?")[0].rstrip("/")

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            with self._changed:
                self.lines.append(raw.decode(errors="replace"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def stderr_text(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_stderr(self, text: str, timeout: float) -> str:
        """The first stderr line containing ``text``; fails after ``timeout`` seconds or when the process ends."""
        end = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((line for line in self.lines if text in line), None)
                if found is not None:
                    return found
                left = end - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._changed.wait(0.5)):
                    raise AssertionError(f"no {text!r} on stderr after {timeout} s:\n{''.join(self.lines)[-3000:]}")
                self._changed.wait(min(left, 0.5))

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + "/state", timeout=10) as answer:
            return dict(json.loads(answer.read()))

    def post(self, path: str, body: Any, ctype: str = "application/json") -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": ctype}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status), json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def __enter__(self) -> LiveProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
