"""The readable failure of a chaos test: outcome, which probe deviated in which phase, the fault
windows, time-to-recovery, load windows and errors -- built from the journal, never a traceback."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaoskit.pytest_plugin.result import LoadWindow, NoLoadData

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal, ObservationRecord
    from chaoskit.model.load import LoadReport

_LOAD_METRICS = (("error_rate", "error rate {:.2%}"), ("p95_ms", "p95 {:.0f} ms"), ("rps", "{:.1f} rps"))


def format_report(journal: Journal, journal_path: Path | None = None) -> str:
    def at(t: float | None) -> str:
        return "-" if t is None else f"+{t - journal.started_at:.2f}s"

    outcome = journal.outcome.value if journal.outcome else "error"
    lines = [f"chaos experiment {journal.title!r}: {outcome.upper()} (exit {journal.exit_code})"]
    if journal.reason:
        lines.append(f"  reason: {_dedupe(journal.reason)}")
    if journal.source:
        lines.append(f"  source: {journal.source}")

    misses = _misses(journal.observations)
    if misses:
        lines.append("deviations (probe, phase: misses/observations, first..last, first reason):")
        for (probe, phase), (bad, total) in misses.items():
            first, last = bad[0], bad[-1]
            lines.append(
                f"  x {probe} in {phase}: {len(bad)}/{total}, {at(first.started_at)}..{at(last.started_at)}: "
                f"{first.reason or first.error or 'missed'}"
            )

    if journal.faults:
        lines.append("fault windows:")
        for fault in journal.faults:
            span = ""
            if fault.injected_at is not None and fault.reverted_at is not None:
                span = f" ({fault.reverted_at - fault.injected_at:.2f}s)"
            state = f"injected {at(fault.injected_at)}, reverted {at(fault.reverted_at)}{span}"
            if fault.error:
                state += f"; inject failed: {fault.error}"
            if fault.revert_error:
                state += f"; REVERT FAILED: {fault.revert_error}"
            lines.append(f"  {fault.name} ({fault.plugin}): {state}")

    recovery = journal.phase("recovery")
    within = _duration(journal.experiment.get("recovery", {}).get("within", 30))
    if journal.ttr_s is not None:
        lines.append(f"time to recovery: {journal.ttr_s:.3g}s (allowed {within})")
    elif recovery is not None:
        lines.append(f"time to recovery: not recovered within {within}")
    else:
        lines.append("time to recovery: not measured (the run did not reach the recovery phase)")

    if journal.phases:
        lines.append("phases: " + ", ".join(f"{p.name} {at(p.started_at)}..{at(p.ended_at)}" for p in journal.phases))

    windows = _load_windows(journal.load)
    if windows:
        lines.append("load windows:")
        for name, metrics in windows:
            window = LoadWindow(name, metrics)
            shown = []
            for key, fmt in _LOAD_METRICS:
                with contextlib.suppress(NoLoadData):  # show what the driver reported
                    shown.append(fmt.format(window.get(key)))
            lines.append(f"  {name}: {', '.join(shown) or 'no metrics'}")

    for err in journal.errors:
        lines.append(f"error in {err.where}: {err.type}: {err.message}")
    path = journal_path or journal.artifacts.get("journal")
    if path:
        lines.append(f"journal: {path}")
    for name, artifact in sorted(journal.artifacts.items()):
        if name != "journal":
            lines.append(f"{name}: {artifact}")
    return "\n".join(lines)


def _misses(observations: list[ObservationRecord]) -> dict[tuple[str, str], tuple[list[ObservationRecord], int]]:
    totals: dict[tuple[str, str], int] = {}
    bad: dict[tuple[str, str], list[ObservationRecord]] = {}
    for obs in observations:
        key = (obs.probe, obs.phase)
        totals[key] = totals.get(key, 0) + 1
        # A triggered abort condition (phase safety, triggered) is no steady-state miss: the reason names it.
        if obs.ok is False and obs.phase != "safety":
            bad.setdefault(key, []).append(obs)
    return {key: (records, totals[key]) for key, records in bad.items()}


def _dedupe(reason: str) -> str:
    """A continuous check repeats the same deviation each time it misses: say it once, with a count."""
    counts: dict[str, int] = {}
    for part in reason.split("; "):
        counts[part] = counts.get(part, 0) + 1
    return "; ".join(part if n == 1 else f"{part} (x{n})" for part, n in counts.items())


def _duration(value: Any) -> str:
    """``recovery.within`` as written in the (redacted, unparsed) experiment: ``"5s"`` or a number of seconds."""
    return f"{value:g}s" if _number(value) else str(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _load_windows(load: LoadReport | None) -> list[tuple[str, Mapping[str, Any]]]:
    return [(w.name, w.metrics()) for w in load.windows] if load is not None else []
