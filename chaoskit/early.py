"""The first instant of ``chaoskit run``: hold SIGINT/SIGTERM before anything else is imported.

This module imports nothing but :mod:`signal` and :mod:`atexit` (both built into the interpreter), so the console
script installs its handlers a few milliseconds after Python starts; :mod:`chaoskit.signals` takes what was held
over. At the other end, once the process is exiting, the two signals are ignored (:func:`_hold_at_exit`): the
verdict's exit code stands to the process's last instant."""

from __future__ import annotations

import atexit
import signal

pending: list[str] = []


def _capture(signum: int, frame: object) -> None:
    pending.append(signal.Signals(signum).name)


def capture_early() -> None:
    """Keep SIGINT/SIGTERM for the next run instead of dying (main thread of the ``chaoskit run`` process only)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _capture)
    atexit.register(_hold_at_exit)  # registered first, so it runs after every other exit handler


def _hold_at_exit() -> None:
    """Ignore SIGINT/SIGTERM for the rest of the process. Python's finalisation (after the exit handlers) puts the
    default action back for signals that have a Python handler -- not for ignored ones -- so a signal then would
    kill the process and turn the verdict's exit code (0, 1, 2...) into -2/-15 (130/143 in a shell). Blocking them
    would not do: the mask is per thread, and the kernel hands a process signal to any thread not blocking it."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def take_pending() -> str | None:
    """The first signal captured since the last call (and forget the others)."""
    name = pending[0] if pending else None
    pending.clear()
    return name
