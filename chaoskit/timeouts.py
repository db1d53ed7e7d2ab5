"""Bounded calls and waits. Every plugin call runs in a worker thread with a timeout; the main
thread only ever blocks in waits that end at the timeout, at the run's deadline, or on a signal."""

from __future__ import annotations

import _thread
import contextlib
import contextvars
import os
import queue
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


_CALLBACKS = threading.Lock()
"""Guards every call's list of callbacks (rarely used: one lock for all, not one per call)."""


class Call:
    """One call handed to a worker thread: wait for it, or ask to be told when it is over.

    "Over" is a bare lock, taken when the call is made and released by the worker when the call is over (a
    waiter takes it and at once gives it back, so every later wait sees it free). ``threading.Event`` does the
    same through a Python-level ``Condition``: about 35,000 more instructions per call (``bench/inprocess.py``),
    and every plugin call and hook pays it. A waiting thread is woken by a signal as with ``Event.wait``."""

    __slots__ = ("_callbacks", "_done", "context", "error", "finished", "fn", "value", "what")

    def __init__(self, fn: Callable[[], Any], what: str) -> None:
        self.fn = fn
        self.context = contextvars.copy_context()  # made in the calling thread
        self.what = what
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished = False
        """True once the call is over (set before waiters are woken)."""
        self._done = _thread.allocate_lock()
        self._done.acquire()  # released by the worker when the call is over
        self._callbacks: list[Callable[[], None]] | None = []  # None once the call is over (under _CALLBACKS)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (``None``: until it is over); True when the call is over."""
        if self.finished:
            return True
        done = self._done
        if done.acquire(True, -1 if timeout is None else min(max(0.0, timeout), threading.TIMEOUT_MAX)):
            done.release()
            return True
        return self.finished

    def when_done(self, callback: Callable[[], None]) -> bool:
        """Run ``callback`` in the worker as soon as the call is over. False (not registered) if it is over."""
        with _CALLBACKS:
            if self._callbacks is None:
                return False
            self._callbacks.append(callback)
            return True

    def _run_callbacks(self) -> None:
        with _CALLBACKS:
            callbacks, self._callbacks = self._callbacks, None
        for callback in callbacks or ():
            with contextlib.suppress(Exception):  # callbacks record their own errors; one must not stop the rest
                callback()

    def _over(self) -> None:
        """The worker: the call is over; wake every waiter."""
        self.finished = True
        self._done.release()

    def result(self, timeout: float, deadline: Deadline = NO_DEADLINE) -> Any:
        """Wait up to ``timeout`` (capped at ``deadline``); the call's value or its exception."""
        at = deadline.at  # Deadline.cap, inline: this runs for every plugin call
        if not self.wait(timeout if at is None else max(0.0, min(timeout, at - time.monotonic()))):
            deadline.check()
            raise ActivityTimeout(f"{self.what} did not finish within {timeout:g}s and was cancelled")
        if self.error is not None:
            raise self.error
        return self.value


class _Workers:
    """Reusable daemon worker threads: starting a thread per call costs more than most probes.

    A worker whose call times out is abandoned, exactly like a fresh thread would be: it rejoins
    the idle pool only if the call ever returns. At most ``max_idle`` workers wait for work."""

    def __init__(self, max_idle: int = 8) -> None:
        self.max_idle = max_idle
        self.idle: list[queue.SimpleQueue[Call]] = []
        self.lock = threading.Lock()
        self.fork_safe = False

    def submit(self, job: Call) -> None:
        with self.lock:
            inbox = self.idle.pop() if self.idle else None
            if not self.fork_safe:  # on first use, not at import: importing chaoskit changes nothing
                os.register_at_fork(after_in_child=self.forget)
                self.fork_safe = True
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="chaoskit: worker", daemon=True).start()
        inbox.put(job)

    def _serve(self, inbox: queue.SimpleQueue[Call]) -> None:
        me = threading.current_thread()
        while True:
            job = inbox.get()
            me.name = f"chaoskit: {job.what}"
            try:
                job.value = job.context.run(job.fn)  # the caller's context (a copy), not the last call's
            except BaseException as exc:  # handed to the caller, never lost
                job.error = exc
            me.name = "chaoskit: worker"
            job._run_callbacks()  # before this worker is offered again: a callback may make calls of its own
            with self.lock:
                keep = len(self.idle) < self.max_idle
                if keep:
                    self.idle.append(inbox)  # before release: the caller's next call can reuse this worker
            job._over()
            del job  # an idle worker keeps nothing of the last call alive
            if not keep:
                return

    def forget(self) -> None:
        """After fork: the parent's workers do not exist in the child."""
        self.lock = threading.Lock()
        self.idle = []


_WORKERS = _Workers()


def start_call(fn: Callable[[], Any], what: str) -> Call:
    """Start ``fn`` in a daemon worker thread and return its :class:`Call` (wait with ``result``)."""
    job = Call(fn, what)
    _WORKERS.submit(job)
    return job


def call_with_timeout(fn: Callable[[], T], timeout: float, what: str, deadline: Deadline = NO_DEADLINE) -> T:
    """Run ``fn`` in a daemon worker thread. On timeout the thread is abandoned (Python cannot kill it) and
    :class:`ActivityTimeout` is raised, so the run goes on to revert. ``fn`` runs in a copy of the
    caller's context variables (as ``asyncio.to_thread`` does), so it sees the caller's trace context."""
    job = Call(fn, what)
    _WORKERS.submit(job)
    return job.result(timeout, deadline)  # type: ignore[no-any-return]


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
