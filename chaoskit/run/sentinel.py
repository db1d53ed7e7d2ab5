"""The runner's watch thread: it polls the halt file and beats the guardian.

One daemon thread per run, started when the run starts. It never touches the journal: on a halt it
calls ``on_halt(reason)`` once (the runner sets its abort event, so waits wake up and the run reverts
and ends ``aborted``); when the guardian is gone it calls ``on_guardian_lost(message)`` once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from chaoskit.run.guardian import Guardian
from chaoskit.run.halt import current, halt_path

POLL_S = 0.25


class Sentinel:
    def __init__(
        self,
        on_halt: Callable[[str], None],
        on_guardian_lost: Callable[[str], None],
        state: Path | None = None,
        poll: float = POLL_S,
    ) -> None:
        self.on_halt = on_halt
        self.on_guardian_lost = on_guardian_lost
        self.halt_file = halt_path(state)
        self.state = state
        self.poll = poll
        self.guardian: Guardian | None = None
        self.heartbeat = 1.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._halted = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="chaoskit: sentinel", daemon=True)
        self._thread.start()

    def attach(self, guardian: Guardian, heartbeat: float) -> None:
        guardian.beat()
        self.heartbeat = heartbeat
        self.guardian = guardian

    def _loop(self) -> None:
        next_beat = 0.0
        while not self._stop.wait(min(self.poll, self.heartbeat)):
            if not self._halted and self.halt_file.exists():
                halted = current(self.state)
                if halted is not None:
                    self._halted = True
                    self.on_halt(halted.abort_reason())
            guardian = self.guardian
            now = time.monotonic()
            if guardian is not None and now >= next_beat:
                next_beat = now + self.heartbeat
                if not guardian.beat():
                    self.guardian = None
                    self.on_guardian_lost(
                        f"the guardian process (pid {guardian.pid}) exited during the run; the run went on unguarded"
                    )

    def stop(self, handoff: bool = False) -> None:
        """Stop the thread, and the guardian (see :meth:`Guardian.stop` for ``handoff``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.guardian is not None:
            self.guardian.stop(handoff=handoff)
            self.guardian = None
