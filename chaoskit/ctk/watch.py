"""A CTK run under chaoskit's safety net: ``chaoskit halt`` refuses it or stops it (outcome aborted, exit 3;
faults reverted, rollbacks played), and the dead-man guardian (``chaoskit.run.guardian``) reverts its ledger
if the runner dies or freezes once a mapped extension call has injected a fault."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any


class Halted(Exception):
    """``chaoskit halt`` was called while the run went on."""


class Watch:
    def __init__(self, run_id: str, title: str) -> None:
        self.run_id = run_id
        self.title = title
        self.halted = threading.Event()
        self.reason = ""
        self.errors: list[str] = []
        self.sentinel: Any = None
        self._live_file: Path | None = None

    @staticmethod
    def refusal() -> str | None:
        """Why the run must not start (chaoskit is halted), or None."""
        from chaoskit.run import halt

        state = halt.current()
        return state.refusal() if state is not None else None

    def start(self, started_at: float, run_dir: Path | None) -> None:
        from chaoskit.run import halt
        from chaoskit.run.sentinel import Sentinel

        live = halt.LiveRun(
            run_id=self.run_id, pid=os.getpid(), title=self.title, started_at=started_at, run_dir=str(run_dir or "")
        )
        self._live_file = halt.register_run(live)
        self.sentinel = Sentinel(self._on_halt, self.errors.append)
        self.sentinel.start()

    def _on_halt(self, reason: str) -> None:
        self.reason = reason
        self.halted.set()

    def check(self) -> None:
        if self.halted.is_set():
            raise Halted(self.reason)

    def ensure_guardian(self, ledger: Path, run_dir: Path | None) -> None:
        """Start the guardian once, before the first fault is injected."""
        if self.sentinel is None or self.sentinel.guardian is not None:
            return
        from chaoskit.model.experiment import GuardianSpec
        from chaoskit.run import halt
        from chaoskit.run.guardian import Guardian

        spec = GuardianSpec()
        guardian = Guardian.start(
            ledger, run_dir or ledger.parent, self.run_id, spec.heartbeat, spec.grace, halt.halt_path()
        )
        self.sentinel.attach(guardian, spec.heartbeat)

    def stop(self) -> None:
        if self.sentinel is not None:
            self.sentinel.stop()
            self.sentinel = None
        if self._live_file is not None:
            self._live_file.unlink(missing_ok=True)
            self._live_file = None
