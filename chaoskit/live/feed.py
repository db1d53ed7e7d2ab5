"""The live view of a game day's parallel group: each experiment of the group runs in its own ``chaoskit run``
(a run owns its process's signal handlers), so its live state reaches the day's page through a pipe.

The plan runner passes the pipe's write end to the child and names it in ``CHAOSKIT_LIVE_FEED`` (a file
descriptor number); the child keeps its own :class:`~chaoskit.live.state.LiveState` and writes a trimmed snapshot
as one JSON line whenever it changes (at least once a second, the last one when the run is over). The parent
reads the lines and shows each child side by side (:meth:`LiveState.put_child`). HALT needs no pipe: the kill
switch is a file every live run of the machine watches.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from typing import Any

from chaoskit.live import FEED_ENV
from chaoskit.live.state import LiveState

ENV = FEED_ENV
KEEP_S = 120
"""Seconds of the child's timeline sent each time (what the page draws)."""


def trimmed(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What the parent shows of a child: no queue, notes or gates (those are the day's), the recent timeline."""
    keep = snapshot["now"] - KEEP_S
    return {
        "now": snapshot["now"],
        "current": snapshot["current"],
        "faults": snapshot["faults"],
        "windows": snapshot["windows"],
        "results": snapshot["results"][-5:],
        "timeline": [row for row in snapshot["timeline"] if row["t"] >= keep],
        "sli_error": snapshot["sli_error"],
        "done": snapshot["done"],
        "finished": snapshot["finished"],
    }


def start_feed(state: LiveState, fd: int) -> Callable[[], None]:
    """Write ``state`` to ``fd`` on every change; returns the function that sends the final state and closes it."""
    stop = threading.Event()

    def loop() -> None:
        version = -1
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            while True:
                version = state.wait_change(version, 1.0)
                snapshot = state.snapshot()
                try:
                    out.write(json.dumps(trimmed(snapshot)) + "\n")
                    out.flush()
                except (BrokenPipeError, OSError):  # the day's process is gone: nothing to show it to
                    return
                if snapshot["finished"] or stop.is_set():
                    return

    thread = threading.Thread(target=loop, name="chaoskit-live-feed", daemon=True)
    thread.start()

    def finish() -> None:
        stop.set()
        state.finish()
        thread.join(timeout=2.0)

    return finish


def read_feed(fd: int, on_snapshot: Callable[[dict[str, Any]], None]) -> threading.Thread:
    """Read a child's snapshots from ``fd`` until it closes, calling ``on_snapshot`` with each."""

    def loop() -> None:
        with os.fdopen(fd, encoding="utf-8") as lines:
            for line in lines:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    on_snapshot(json.loads(line))

    thread = threading.Thread(target=loop, name="chaoskit-live-feed-reader", daemon=True)
    thread.start()
    return thread


__all__ = ["ENV", "read_feed", "start_feed", "trimmed"]
