"""The first instant of ``chaoskit run``: hold SIGINT/SIGTERM before anything else is imported.

This module imports nothing but :mod:`signal` (built into the interpreter), so the console script installs its
handlers a few milliseconds after Python starts; :mod:`chaoskit.signals` takes what was held over."""

from __future__ import annotations

import signal

pending: list[str] = []


def _capture(signum: int, frame: object) -> None:
    pending.append(signal.Signals(signum).name)


def capture_early() -> None:
    """Keep SIGINT/SIGTERM for the next run instead of dying (main thread of the ``chaoskit run`` process only)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _capture)


def take_pending() -> str | None:
    """The first signal captured since the last call (and forget the others)."""
    name = pending[0] if pending else None
    pending.clear()
    return name
