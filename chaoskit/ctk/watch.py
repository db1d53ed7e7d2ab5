"""A CTK run under chaoskit's safety net: ``chaoskit halt`` refuses it or stops it (outcome aborted, exit 3;
faults reverted, rollbacks played), and the dead-man guardian (``chaoskit.run.guardian``) reverts its ledger
if the runner dies or freezes once a mapped extension call has injected a fault."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class Halted(Exception):
    """``chaoskit halt`` was called while the run went on."""


class Watch:
    """The CTK run's side of :class:`chaoskit.run.watch.Watch` (the same sentinel, guardian and live-run file as a
    chaoskit run), with a halt turned into :class:`Halted` at the next :meth:`check`."""

    def __init__(self, run_id: str, title: str) -> None:
        self.run_id = run_id
        self.title = title
        self.halted = threading.Event()
        self.reason = ""
        self.errors: list[str] = []
        self.net: Any = None

    @staticmethod
    def refusal() -> str | None:
        """Why the run must not start (chaoskit is halted), or None."""
        from chaoskit.run import halt

        state = halt.current()
        return state.refusal() if state is not None else None

    def start(self, started_at: float, run_dir: Path | None) -> None:
        from chaoskit.run.watch import Watch as Net

        self.net = Net(self.run_id, self.title, self._on_halt, self.errors.append)
        self.net.start(started_at, run_dir)

    def _on_halt(self, reason: str) -> None:
        self.reason = reason
        self.halted.set()

    def check(self) -> None:
        if self.halted.is_set():
            raise Halted(self.reason)

    def ensure_guardian(self, ledger: Path, run_dir: Path | None) -> None:
        """Start the guardian once, before the first fault is injected."""
        if self.net is None:
            return
        from chaoskit.model.experiment import GuardianSpec

        self.net.ensure_guardian(ledger, run_dir or ledger.parent, GuardianSpec(), wait=False)

    def stop(self) -> None:
        if self.net is not None:
            self.net.stop()
            self.net = None
