"""What every report shows, read once from a journal: the load series, the fault windows, the SLIs of each
window, the probe results per phase. From ``journal.load`` (:class:`~chaoskit.model.load.LoadReport`): per-second
rows with ``rps``/``error_rate`` or with ``requests``/``failures``, and windows given or computed here."""

from __future__ import annotations

import math
import re
from typing import Any

from chaoskit.model.journal import FaultRecord, Journal
from chaoskit.model.load import LoadPoint, LoadReport
from chaoskit.record import field, record


@record(frozen=True)
class Point:
    t: float
    rps: float | None
    error_rate: float | None
    p95_ms: float | None


@record(frozen=True)
class Window:
    name: str
    start: float
    end: float
    rps: float | None = None
    error_rate: float | None = None
    p95_ms: float | None = None
    requests: int | None = None
    kind: str = "before"
    """``before`` (the first fault), ``fault``, or ``after`` (the last revert)."""

    @property
    def label(self) -> str:
        return f"during {self.name}" if self.kind == "fault" else self.name


@record(frozen=True)
class PhaseProbes:
    phase: str
    probe: str
    total: int
    failed: int
    first_failure: str = ""


@record
class Facts:
    journal: Journal
    series: list[Point] = field(default_factory=list)
    faults: list[Window] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    probes: list[PhaseProbes] = field(default_factory=list)

    @property
    def load_ttr_s(self) -> float | None:
        """Seconds from the last revert until the load was healthy again (from the load driver)."""
        load = self.journal.load
        return _num(load.ttr_s) if load is not None else None

    @property
    def load_recovery(self) -> str:
        load = self.journal.load
        return load.recovery.reason if load is not None and load.recovery is not None else ""

    @property
    def before(self) -> Window | None:
        return next((w for w in self.windows if w.kind == "before"), None)

    @property
    def start(self) -> float:
        return self.journal.started_at

    @property
    def end(self) -> float:
        ends = [self.journal.ended_at or self.journal.started_at] + [p.t + 1 for p in self.series]
        return max(ends)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _point(row: LoadPoint) -> Point:
    requests = _num(row.requests)
    rps = _num(row.rps)
    if rps is None:
        rps = requests
    error_rate = _num(row.error_rate)
    if error_rate is None and requests and row.failures is not None:
        error_rate = row.failures / requests
    return Point(float(row.t), rps, error_rate, _num(row.p95_ms))


def _from_series(name: str, start: float, end: float, series: list[Point], kind: str) -> Window:
    """A window's SLIs from the per-second points, each second weighted by how much of it is in the window."""
    weighted = [(p, max(0.0, min(end, p.t + 1) - max(start, p.t))) for p in series]
    weighted = [(p, w) for p, w in weighted if w > 0]
    if not weighted:
        return Window(name, start, end, kind=kind)
    requests = sum((p.rps or 0.0) * w for p, w in weighted)
    failed = sum((p.rps or 0.0) * (p.error_rate or 0.0) * w for p, w in weighted)
    p95s = sorted(p.p95_ms for p, _ in weighted if p.p95_ms is not None)
    return Window(
        name,
        start,
        end,
        rps=requests / max(end - start, 1e-9),
        error_rate=(failed / requests) if requests else None,
        p95_ms=p95s[int(0.95 * (len(p95s) - 1))] if p95s else None,  # p95 of per-second p95s: an estimate
        requests=round(requests),
        kind=kind,
    )


BEFORE_S = 5.0
"""How much load before the first fault counts as "before" (the runner's baseline is a single check)."""


def _windows(journal: Journal, series: list[Point], faults: list[Window]) -> list[Window]:
    """Load SLIs before the first fault, during each fault, and after the last revert (while load ran).

    The runner's baseline and recovery phases are single steady-state checks, often shorter than one load
    sample, so the load is judged over these wider windows. A fault window uses the driver's own numbers
    (exact percentiles from its histograms) when it reports them; the rest come from the per-second series.
    """
    if not series:
        return []
    load_start, load_end = series[0].t, series[-1].t + 1
    load = journal.load
    if load is not None:
        load_start = _num(load.started_at) or load_start
        load_end = _num(load.ended_at) or load_end
    spans: list[tuple[str, float, float, str]] = []
    if faults:
        first, last = min(f.start for f in faults), max(f.end for f in faults)
        # the last seconds before the first fault, past the load's first (start-up) second
        # whole seconds only: the series has one-second resolution, and the second the fault starts in is not "before"
        spans.append(("before the fault", max(load_start + 1, first - BEFORE_S), math.floor(first), "before"))
        spans += [(f.name, f.start, f.end, "fault") for f in faults]
        spans.append(("after the revert", math.ceil(last), load_end, "after"))
    else:
        spans.append(("whole run", load_start, load_end, "before"))
    out: list[Window] = []
    for name, start, end, kind in spans:
        if end <= start:
            continue
        given = load.window(f"fault:{name}", start) or load.window(name, start) if load is not None else None
        stats = given if kind == "fault" else None
        if stats is not None:
            requests = stats.requests
            out.append(
                Window(
                    name,
                    start,
                    end,
                    rps=stats.metric("rps"),
                    error_rate=_num(stats.error_rate),
                    p95_ms=stats.metric("p95_ms"),
                    requests=requests if isinstance(requests, int) else None,
                    kind=kind,
                )
            )
        else:
            out.append(_from_series(name, start, end, series, kind))
    return out


def _load_series(load: LoadReport | None) -> list[Point]:
    points = [_point(row) for row in load.series] if load is not None else []
    return sorted(points, key=lambda p: p.t)


def _probes(journal: Journal) -> list[PhaseProbes]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for obs in journal.observations:
        groups.setdefault((obs.phase, obs.probe), []).append(obs)
    out = []
    for (phase, probe), records in groups.items():
        failed = [r for r in records if r.ok is False]
        out.append(PhaseProbes(phase, probe, len(records), len(failed), failed[0].reason if failed else ""))
    return out


def collect(journal: Journal) -> Facts:
    series = _load_series(journal.load)
    end_default = journal.ended_at or journal.started_at
    faults = [
        Window(f.name, f.injected_at, f.reverted_at if f.reverted_at is not None else end_default)
        for f in journal.faults
        if f.injected_at is not None
    ]
    return Facts(journal, series, faults, _windows(journal, series, faults), _probes(journal))


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def fmt_rps(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def fmt_ttr(journal: Journal) -> str:
    """Time to recovery: the steady state's (the runner's), and the load's when the driver measured it."""
    steady = f"{journal.ttr_s:.3g}s" if journal.ttr_s is not None else "-"
    load = _num(journal.load.ttr_s) if journal.load is not None else None
    return steady + (f" (load {load:.3g}s)" if load is not None else "")


def tidy(text: str, most: int = 3) -> str:
    """A reason for people: long decimals rounded (0.07017543859 -> 0.0702), at most ``most`` of its
    ``; ``-separated parts (the journal keeps the whole text)."""
    text = re.sub(r"\d+\.\d{4,}", lambda m: f"{float(m.group()):.3g}", text)
    parts = text.split("; ")
    if len(parts) > most:
        return "; ".join(parts[:most]) + f"; ... and {len(parts) - most} more"
    return text


def undone(f: FaultRecord, started_at: float) -> str:
    """How a fault was undone, in words: "reverted", or for one that cannot be (a kill: ``revertible: false`` in
    its revert info) what was done and what brought the system back ("not revertible; killed pid 42; restarted
    at +12.0s (exit 0)")."""
    info = f.revert_info
    if info.get("revertible") is not False:
        return "reverted" if f.reverted_at else "-"
    parts = ["not revertible"]
    killed = [str(k.get("pid")) for k in info.get("killed") or [] if isinstance(k, dict) and k.get("sent")]
    if killed:
        parts.append(f"killed pid {', '.join(killed)}")
    restart = info.get("restart")
    if isinstance(restart, dict) and isinstance(restart.get("started_at"), int | float):
        parts.append(f"restarted at +{restart['started_at'] - started_at:.1f}s (exit {restart.get('exit_code')})")
    elif isinstance(restart, dict) and "exit_code" in restart:
        parts.append(f"restarted (exit {restart['exit_code']})")
    elif isinstance(restart, dict) and restart.get("skipped"):
        parts.append(f"not restarted: {restart['skipped']}")
    else:
        parts.append("chaoskit did not restart it (no `restart` command)")
    return "; ".join(parts)
