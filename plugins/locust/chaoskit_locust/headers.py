"""Trace-context headers that follow the run: the runner pushes ``ctx.headers()`` to its Locust children whenever
it changes (a fault injected or reverted changes the ``baggage``), and the children swap the default headers of
every live HttpUser/FastHttpUser session.

Runner side: :class:`HeaderPush`, a thread polling ``ctx.headers()`` every ``interval_s`` and writing a line
``headers {json}`` to each child's stdin only when the value changed. It runs outside any activity, so the
``traceparent`` it sees is the run's root span (the ``baggage`` carries the run id and the faults in place).

Child side: :class:`LiveHeaders`, which remembers the sessions' header mappings (weakly) and rewrites the keys it
set itself; a header a locustfile set on its session (a different value) is left alone.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

PREFIX = b"headers "


class LineSink(Protocol):
    def send_line(self, line: bytes) -> bool: ...


def encode(headers: dict[str, str]) -> bytes:
    return PREFIX + json.dumps(headers, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, str] | None:
    """The headers of a ``headers {json}`` line; None for anything else or a malformed line."""
    if not line.startswith(PREFIX):
        return None
    try:
        value = json.loads(line[len(PREFIX) :])
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items()}


class HeaderPush:
    """Polls ``headers()`` every ``interval_s`` and pushes a changed value to every sink. Stops on :meth:`stop`
    (bounded join) or after the first exception from ``headers()`` (the value in place stays)."""

    def __init__(
        self, headers: Callable[[], dict[str, str]], initial: dict[str, str], sinks: list[Any], interval_s: float
    ) -> None:
        self.headers = headers
        self.last = dict(initial)
        self.sinks: list[LineSink] = sinks
        self.interval_s = interval_s
        self.pushes = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaoskit: locust headers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                current = dict(self.headers())
            except Exception as exc:  # the hooks record their own errors; never take the load down
                self.error = f"{type(exc).__name__}: {exc}"
                return
            if current == self.last:
                continue
            line = encode(current)
            for sink in self.sinks:
                sink.send_line(line)
            self.last = current
            self.pushes += 1

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)


class LiveHeaders:
    """The child's current trace headers and the sessions that send them."""

    def __init__(self, initial: dict[str, str]) -> None:
        self.current = dict(initial)
        self._sessions: weakref.WeakKeyDictionary[Any, MutableMapping[str, str]] = weakref.WeakKeyDictionary()

    def attach(self, session: Any, mapping: MutableMapping[str, str]) -> None:
        """Add the current headers to ``mapping`` (keys it already has win) and keep it in step while
        ``session`` (which holds it) lives."""
        for key, value in self.current.items():
            if mapping.get(key) is None:
                mapping[key] = value
        self._sessions[session] = mapping

    def update(self, new: dict[str, str]) -> int:
        """Swap every live session's headers from the current value to ``new``; returns the sessions touched."""
        old, self.current = self.current, dict(new)
        for mapping in list(self._sessions.values()):
            for key in set(old) | set(new):
                have = mapping.get(key)
                if have is not None and have != old.get(key):
                    continue  # the locustfile set its own value
                if key in new:
                    mapping[key] = new[key]
                elif have is not None:
                    del mapping[key]
        return len(self._sessions)
