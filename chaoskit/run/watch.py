"""One run's safety net, as the runner (and a Chaos Toolkit run, :mod:`chaoskit.ctk.watch`) holds it: the sentinel
thread (:mod:`chaoskit.run.sentinel`: halt file, guardian heartbeats), the dead-man guardian process
(:mod:`chaoskit.run.guardian`), and the live-run file ``chaoskit halt`` lists (:mod:`chaoskit.run.halt`).

Order: the sentinel first (a halt from then on stops the run), then the guardian when the run can change anything
(before run-start hooks, which may prepare things such as declared proxies), then the live-run file (the guardian
removes it if the runner dies). :meth:`Watch.stop` ends all three; with ``handoff`` the guardian stays to revert
what an inject that outlived its revert did, once this process has exited.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from chaoskit.model.experiment import GuardianSpec
from chaoskit.run import halt
from chaoskit.run.guardian import Guardian
from chaoskit.run.sentinel import Sentinel


class Watch:
    def __init__(
        self,
        run_id: str,
        title: str,
        on_halt: Callable[[str], None],
        on_guardian_lost: Callable[[str], None],
    ) -> None:
        self.run_id = run_id
        self.title = title
        self.on_halt = on_halt
        self.on_guardian_lost = on_guardian_lost
        self.sentinel: Sentinel | None = None
        self.live_file: Path | None = None

    def start(self, started_at: float, run_dir: Path | None, guard: tuple[Path, GuardianSpec] | None = None) -> None:
        """Start the sentinel; with ``guard`` (the ledger, the spec) the guardian too (not waited for); then
        register the run as live."""
        self.sentinel = Sentinel(self.on_halt, self.on_guardian_lost)
        self.sentinel.start()
        if guard is not None:
            self.ensure_guardian(guard[0], run_dir or guard[0].parent, guard[1], wait=False)
        live = halt.LiveRun(
            run_id=self.run_id, pid=os.getpid(), title=self.title, started_at=started_at, run_dir=str(run_dir or "")
        )
        self.live_file = halt.register_run(live)

    def ensure_guardian(self, ledger: Path, run_dir: Path, spec: GuardianSpec, wait: bool = True) -> None:
        """Start the guardian once, unless ``spec.enabled`` is off; with ``wait`` (before a fault's first inject)
        make sure it is up (:class:`~chaoskit.run.guardian.GuardianError` if not)."""
        if not spec.enabled or self.sentinel is None:
            return
        guardian = self.sentinel.guardian
        if guardian is None:
            guardian = Guardian.start(ledger, run_dir, self.run_id, spec.heartbeat, spec.grace, halt.halt_path())
            self.sentinel.attach(guardian, spec.heartbeat)
        if wait:
            guardian.wait_ready()

    def stop(self, handoff: bool = False) -> None:
        if self.sentinel is not None:
            self.sentinel.stop(handoff)
            self.sentinel = None
        if self.live_file is not None:
            self.live_file.unlink(missing_ok=True)
            self.live_file = None


__all__ = ["Watch"]
