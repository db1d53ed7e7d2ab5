"""Bounded calls and waits. Every plugin call runs in a worker thread with a timeout; the main
thread only ever blocks in waits that end at the timeout, at the run's deadline, or on a signal."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chaoskit.errors import ActivityTimeout, SafetyStop

T = TypeVar("T")


class Deadline:
    """The run's hard stop (``safety.max_duration``). ``None`` means no deadline (used while reverting)."""

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def check(self) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise SafetyStop()

    def cap(self, seconds: float) -> float:
        left = self.remaining()
        return seconds if left is None else max(0.0, min(seconds, left))


NO_DEADLINE = Deadline(None)


def call_with_timeout(fn: Callable[[], T], timeout: float, what: str, deadline: Deadline = NO_DEADLINE) -> T:
    """Run ``fn`` in a daemon thread. On timeout the thread is abandoned (Python cannot kill it) and
    :class:`ActivityTimeout` is raised, so the run goes on to revert. ``fn`` runs in a copy of the
    caller's context variables (as ``asyncio.to_thread`` does), so it sees the caller's trace context."""
    context = contextvars.copy_context()
    done = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = context.run(fn)
        except BaseException as exc:  # handed to the caller, never lost
            box["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=target, name=f"chaoskit: {what}", daemon=True)
    worker.start()
    wait = deadline.cap(timeout)
    if not done.wait(wait):
        deadline.check()
        raise ActivityTimeout(f"{what} did not finish within {timeout:g}s and was cancelled")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def sleep(seconds: float, stop: threading.Event | None = None, deadline: Deadline = NO_DEADLINE) -> bool:
    """Sleep up to ``seconds``; return True early if ``stop`` is set. Raises SafetyStop at the deadline."""
    stop = stop or threading.Event()
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return False
        if stop.wait(deadline.cap(left)):
            return True
        deadline.check()
