"""Signal handling for a run: SIGINT and SIGTERM interrupt the run (so faults get reverted), but
never the reverts themselves: once reverting starts, further signals are noted and ignored.

Outside a run, ``chaoskit run`` holds signals with :func:`chaoskit.early.capture_early` from its first instant
(before the heavy imports): a signal while it loads is kept and interrupts the next run before it starts (exit 130, a
journal "interrupted before start"); a signal after the last journal is written changes nothing (the
verdict's exit code stands).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from chaoskit.errors import Interrupted


def raise_signal(name: str) -> None:
    if name == "SIGINT":
        raise KeyboardInterrupt
    raise Interrupted(name)


class SignalGuard:
    def __init__(self) -> None:
        self.shielded = False
        self.ignored: list[str] = []
        """Signals that arrived while shielded (during the reverts) and were therefore ignored."""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.shielded:
            self.ignored.append(name)
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Interrupted(name)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold SIGINT/SIGTERM back for a block that must not be cut in half (a ledger write, the reverts):
        a signal that arrives meanwhile is raised when the block is over. Inside an already shielded block
        (the run is ending anyway) signals stay ignored."""
        if self.shielded:
            yield
            return
        self.shielded = True
        try:
            yield
        finally:
            self.shielded = False
        if self.ignored:
            name = self.ignored.pop(0)
            self.ignored.clear()
            raise_signal(name)

    @contextmanager
    def installed(self, enabled: bool = True) -> Iterator[SignalGuard]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous: dict[int, Any] = {}
        for sig in (signal.SIGINT.value, signal.SIGTERM.value):
            previous[sig] = signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
