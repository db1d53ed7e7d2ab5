"""What every report shows, read once from a journal: the load series, the fault windows, the SLIs of each
window, the probe results per phase. Tolerant of what a load driver puts into ``journal.load``: per-second
rows with ``rps``/``error_rate`` or with ``requests``/``failures``, and windows given or computed here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaoskit.model.journal import Journal


@dataclass(frozen=True)
class Point:
    t: float
    rps: float | None
    error_rate: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float
    rps: float | None = None
    error_rate: float | None = None
    p95_ms: float | None = None
    requests: int | None = None
    kind: str = "phase"
    """``phase`` (baseline, method, recovery) or ``fault``."""

    @property
    def label(self) -> str:
        return f"fault: {self.name}" if self.kind == "fault" else self.name


@dataclass(frozen=True)
class PhaseProbes:
    phase: str
    probe: str
    total: int
    failed: int
    first_failure: str = ""


@dataclass
class Facts:
    journal: Journal
    series: list[Point] = field(default_factory=list)
    faults: list[Window] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    probes: list[PhaseProbes] = field(default_factory=list)

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


def _point(row: dict[str, Any]) -> Point | None:
    t = _num(row.get("t"))
    if t is None:
        return None
    rps = _num(row.get("rps"))
    requests = _num(row.get("requests"))
    if rps is None:
        rps = requests
    error_rate = _num(row.get("error_rate"))
    failures = _num(row.get("failures"))
    if error_rate is None and requests and failures is not None:
        error_rate = failures / requests
    elif error_rate is None and requests == 0:
        error_rate = None
    return Point(t, rps, error_rate, _num(row.get("p95_ms")))


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


def _windows(journal: Journal, series: list[Point], faults: list[Window]) -> list[Window]:
    spans = [
        (p.name, p.started_at, p.ended_at, "phase")
        for p in journal.phases
        if p.name in ("baseline", "method", "recovery")
    ]
    spans += [(f.name, f.start, f.end, "fault") for f in faults]
    given = (journal.load or {}).get("windows")
    out: list[Window] = []
    for name, start, end, kind in spans:
        end = end if end is not None else (journal.ended_at or start)
        stats = (given.get(name) or given.get(f"fault:{name}")) if isinstance(given, dict) else None
        if isinstance(stats, dict):
            out.append(
                Window(
                    name,
                    start,
                    end,
                    rps=_num(stats.get("rps")),
                    error_rate=_num(stats.get("error_rate")),
                    p95_ms=_num(stats.get("p95_ms")),
                    requests=int(stats["requests"]) if isinstance(stats.get("requests"), int) else None,
                    kind=kind,
                )
            )
        else:
            out.append(_from_series(name, start, end, series, kind))
    return out


def _load_series(load: dict[str, Any] | None) -> list[Point]:
    rows = (load or {}).get("series")
    if isinstance(rows, dict):  # {"total": [...], "endpoints": {...}} or similar: take the total
        rows = rows.get("total") or rows.get("__total__")
    if not isinstance(rows, list):
        return []
    points = [p for p in (_point(r) for r in rows if isinstance(r, dict)) if p is not None]
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
