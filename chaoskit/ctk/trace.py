"""A CTK run as an OpenTelemetry trace: chaoskit's own trace recorder (``chaoskit.tracing``) fed through the
same hooks the native runner calls -- the run, its phases (``before``, ``method``, ``after``, ``rollbacks``),
every activity, and the fault windows of mapped extension calls. ``trace.json`` lands next to chaoskit's
journal; ``OTEL_EXPORTER_OTLP_*`` sends it to a collector as for any run. A tracing failure is recorded in the
run's reason; it never changes CTK's verdict."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from chaoskit import __version__
from chaoskit.model.journal import ActivityRecord, FaultRecord, Journal, ObservationRecord, Outcome, PhaseRecord


class CtkTrace:
    def __init__(
        self, title: str, source: str | None, experiment: dict[str, Any], run_dir: Callable[[], Path] | None
    ) -> None:
        self.journal = Journal(
            run_id=uuid.uuid4().hex[:12],
            chaoskit_version=__version__,
            title=title,
            source=source,
            experiment=experiment,
            started_at=time.time(),
        )
        self.errors: list[str] = []
        self.hooks: Any = None
        if run_dir is not None:
            from chaoskit.hooks import make_manager
            from chaoskit.model.experiment import TracingSpec
            from chaoskit.tracing import run_tracer

            def on_error(where: str, exc: BaseException) -> None:
                self.errors.append(f"trace ({where}): {exc}")

            try:
                self.hooks = make_manager([run_tracer(TracingSpec(), run_dir, on_error)], entry_points=False)
            except Exception as exc:
                on_error("setup", exc)

    @property
    def run_id(self) -> str:
        return self.journal.run_id

    def _emit(self, hook: str, **kwargs: Any) -> None:
        if self.hooks is None:
            return
        try:
            getattr(self.hooks.hook, hook)(journal=self.journal, **kwargs)
        except Exception as exc:
            self.errors.append(f"trace ({hook}): {type(exc).__name__}: {exc}")

    def started(self) -> None:
        self._emit("chaoskit_run_started")

    def phase(self, name: str, start: bool) -> None:
        if start:
            self.journal.phases.append(PhaseRecord(name=name, started_at=time.time()))
            self._emit("chaoskit_phase_started", phase=name)
        else:
            record = self.journal.phase(name)
            if record is not None:
                record.ended_at = time.time()
            self._emit("chaoskit_phase_finished", phase=name)

    def activity_started(self, kind: str, name: str, phase: str) -> None:
        self._emit("chaoskit_activity_started", kind=kind, name=name, phase=phase)

    def activity_finished(self, kind: str, run: dict[str, Any], phase: str) -> None:
        activity = run.get("activity", {})
        plugin = f"ctk.{activity.get('provider', {}).get('type', '?')}"
        error = "".join(run.get("exception", [])).strip() or run.get("tolerance_error")
        start = _ts(run.get("start"))
        value = json.loads(json.dumps(run.get("output"), default=str))
        record: ObservationRecord | ActivityRecord
        if kind == "probe":
            met = run.get("tolerance_met")
            record = ObservationRecord(
                probe=str(activity.get("name", "?")),
                plugin=plugin,
                phase=phase,
                started_at=start,
                duration_s=float(run.get("duration") or 0.0),
                ok=met,
                reason="" if met is None else ("tolerance met" if met else "tolerance not met"),
                value=value if isinstance(value, int | float | str | bool) else None,
                error=error or None,
            )
        else:
            record = ActivityRecord(
                name=str(activity.get("name", "?")), plugin=plugin, phase=phase, started_at=start, error=error or None
            )
        self._emit("chaoskit_activity_finished", kind=kind, record=record)

    def fault(self, record: FaultRecord, injected: bool) -> None:
        self._emit("chaoskit_fault_injected" if injected else "chaoskit_fault_reverted", fault=record)

    def finished(self, outcome: Outcome, reason: str) -> None:
        self.journal.outcome = outcome
        self.journal.reason = reason
        self.journal.ended_at = time.time()
        self._emit("chaoskit_run_finished")


def _ts(text: str | None) -> float:
    return datetime.fromisoformat(text).timestamp() if text else 0.0
