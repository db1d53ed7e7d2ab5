"""Two journals for one CTK run: CTK's own shape (``--journal-path``; ``status``, ``deviated``,
``steady_states.before/after/during``, ``run[]``, ``rollbacks[]``) so tools that read CTK journals keep
working, and chaoskit's journal (outcome, observations, activities, faults) for its report.

The verdict is CTK's: exit code 0 when the status is ``completed`` and the run did not deviate, else 1;
chaoskit's own outcome is recorded next to it (``chaoskit`` in the CTK journal, ``outcome`` in chaoskit's):

========================================================  =================  ========
CTK                                                       chaoskit outcome   exit
========================================================  =================  ========
completed, not deviated                                   passed             0
completed, hypothesis before not met (method skipped)     baseline-not-met   0 (CTK)
failed, a probe of the hypothesis before failed           baseline-not-met   1
deviated (hypothesis after not met), or fail-fast stop    deviated           1
aborted (an unexpected error in the method)               error              1
interrupted (Ctrl-C, SIGTERM)                             interrupted        130
========================================================  =================  ========
"""

from __future__ import annotations

import json
import platform
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaoskit import __version__, redaction
from chaoskit.config import REDACTED
from chaoskit.ledger import dump_json
from chaoskit.model.journal import ActivityRecord, FaultRecord, Journal, ObservationRecord, Outcome, PhaseRecord

if TYPE_CHECKING:
    from chaoskit.ctk.load import LoadedCtk


class CtkJournal:
    def __init__(self, loaded: LoadedCtk) -> None:
        self.loaded = loaded
        experiment = json.loads(json.dumps(loaded.document, default=str))
        if isinstance(experiment.get("secrets"), dict):
            experiment["secrets"] = {
                scope: dict.fromkeys(values, REDACTED) if isinstance(values, dict) else REDACTED
                for scope, values in experiment["secrets"].items()
            }
        self.data: dict[str, Any] = {
            "chaoskit-version": __version__,
            "platform": platform.platform(),
            "node": platform.node(),
            "experiment": experiment,
            "start": datetime.now(UTC).isoformat(),
            "status": None,
            "deviated": False,
            "steady_states": {"before": None, "after": None, "during": []},
            "run": [],
            "rollbacks": [],
        }
        self.started_at = 0.0
        self.ended_at = 0.0
        self.errors: list[str] = []
        self.faults: list[FaultRecord] = []
        self.gate_failed = False
        self.fail_fast_stop = False
        self.halted = False
        self.signals_ignored: list[str] = []
        self.run_id = uuid.uuid4().hex[:12]
        self.trace_id: str | None = None
        self.artifacts: dict[str, str] = {}

    def finish(
        self, status: str, deviated: bool, started_at: float, errors: list[str], faults: list[FaultRecord]
    ) -> None:
        self.started_at = started_at
        self.ended_at = datetime.now(UTC).timestamp()
        self.data["status"] = status
        self.data["deviated"] = deviated
        self.data["end"] = datetime.now(UTC).isoformat()
        self.data["duration"] = self.ended_at - started_at
        self.errors = errors
        self.faults = faults
        self.refresh()

    def refresh(self) -> None:
        """Rewrite the ``chaoskit`` block of the CTK journal (outcome, exit code, reason)."""
        self.data["chaoskit"] = {
            "outcome": self.outcome.value,
            "exit_code": self.exit_code,
            "reason": self.reason,
        }

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def deviated(self) -> bool:
        return bool(self.data["deviated"])

    @property
    def ctk_exit_code(self) -> int:
        """What ``chaos run`` exits with."""
        return 0 if self.status == "completed" and not self.deviated else 1

    @property
    def exit_code(self) -> int:
        """CTK's, except: 130 interrupted, 3 refused or stopped by `chaoskit halt` (chaoskit's rules)."""
        if self.status == "interrupted":
            return 130
        return 3 if self.halted else self.ctk_exit_code

    @property
    def outcome(self) -> Outcome:
        if self.status == "interrupted":
            return Outcome.INTERRUPTED
        if self.halted:
            return Outcome.ABORTED
        if self.status == "aborted" or any(f.revert_error for f in self.faults):
            return Outcome.ERROR
        if self.deviated or self.fail_fast_stop:
            return Outcome.DEVIATED
        if self.gate_failed:
            return Outcome.BASELINE_NOT_MET
        return Outcome.PASSED if self.status == "completed" else Outcome.ERROR

    @property
    def reason(self) -> str:
        words = f"CTK status {self.status}" + (", deviated" if self.deviated else "")
        if self.gate_failed:
            words += "; the steady-state hypothesis before the method was not met, so the method was skipped"
        if self.fail_fast_stop:
            words += "; the continuous hypothesis deviated (fail-fast)"
        if self.errors:
            words += "; " + "; ".join(self.errors)
        if self.signals_ignored:
            words += f" (signals received while reverting, ignored: {', '.join(self.signals_ignored)})"
        return redaction.scrub_text(words)

    # -- writing -------------------------------------------------------------------------------------
    def ctk_document(self) -> Any:
        """The CTK-shaped journal, JSON-safe, secrets redacted."""
        return redaction.scrub(json.loads(json.dumps(self.data, default=str)))

    def write_ctk(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        dump_json(path, self.ctk_document())
        return path

    def chaoskit_journal(self, run_dir: Path | None = None) -> Journal:
        doc = self.ctk_document()
        title = str(self.loaded.experiment.title)
        journal = Journal(
            run_id=self.run_id,
            chaoskit_version=__version__,
            title=title,
            source=self.loaded.source,
            experiment=doc["experiment"],
            dry_run=doc["experiment"].get("dry") is not None,
            started_at=self.started_at,
            ended_at=self.ended_at,
            outcome=self.outcome,
            exit_code=self.exit_code,
            reason=self.reason,
            faults=self.faults,
            trace_id=self.trace_id,
            artifacts=dict(self.artifacts),
        )
        states = doc["steady_states"]
        for phase, state in (("before", states["before"]), ("after", states["after"])):
            if state:
                journal.phases.append(_phase(phase, state["probes"]))
                journal.observations.extend(_observations(phase, state["probes"]))
        for state in states["during"]:
            journal.observations.extend(_observations("during", state["probes"]))
        for phase in ("run", "rollbacks"):
            if doc[phase]:
                journal.phases.append(_phase("method" if phase == "run" else phase, doc[phase]))
            journal.activities.extend(_activities("method" if phase == "run" else "rollbacks", doc[phase]))
        journal.phases.sort(key=lambda phase: phase.started_at)
        if run_dir is not None:
            journal.artifacts["journal"] = str(run_dir / "journal.json")
        return journal


def _ts(text: str | None) -> float:
    return datetime.fromisoformat(text).timestamp() if text else 0.0


def _phase(name: str, runs: list[dict[str, Any]]) -> PhaseRecord:
    starts = [_ts(r.get("start")) for r in runs] or [0.0]
    ends = [_ts(r.get("end")) for r in runs if r.get("end")] or starts
    return PhaseRecord(name=name, started_at=min(starts), ended_at=max(ends))


def _observations(phase: str, runs: list[dict[str, Any]]) -> list[ObservationRecord]:
    out = []
    for r in runs:
        activity = r.get("activity", {})
        error = "".join(r.get("exception", [])).strip() or r.get("tolerance_error")
        out.append(
            ObservationRecord(
                probe=str(activity.get("name", "?")),
                plugin=f"ctk.{activity.get('provider', {}).get('type', '?')}",
                phase=phase,
                started_at=_ts(r.get("start")),
                duration_s=float(r.get("duration") or 0.0),
                ok=r.get("tolerance_met"),
                reason="tolerance met" if r.get("tolerance_met") else "tolerance not met",
                value=r.get("output"),
                error=error or None,
            )
        )
    return out


def _activities(phase: str, runs: list[dict[str, Any]]) -> list[ActivityRecord]:
    return [
        ActivityRecord(
            name=str(r.get("activity", {}).get("name", "?")),
            plugin=f"ctk.{r.get('activity', {}).get('provider', {}).get('type', '?')}",
            phase=phase,
            started_at=_ts(r.get("start")),
            ended_at=_ts(r.get("end")) or None,
            result=r.get("output"),
            error="".join(r.get("exception", [])).strip() or None,
        )
        for r in runs
    ]
