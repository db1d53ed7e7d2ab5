"""The in-memory per-second load series (parent side; no locust import).

The child sends small deltas (``{"tick": n, "ep": {name: {"n", "f", "rt": {ms: count}}}}``) several times
a second; they are merged here into one cell per (tick, endpoint). A tick is 100 ms of wall-clock time (when the
requests completed), so a window is cut at 0.1 s precision; the journal's series is per second. Latencies are
kept as histograms with Locust's own rounding, so a window's percentile is computed over every request in it
(never averaged).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TOTAL = "__total__"
TICKS_PER_S = 10


def tick_of(timestamp: float) -> int:
    return int(timestamp * TICKS_PER_S)


def bucket_ms(response_time: float) -> int:
    """Round a response time the way Locust's stats do (2 significant digits above 100 ms)."""
    if response_time < 100:
        return round(response_time)
    if response_time < 1000:
        return int(round(response_time, -1))
    if response_time < 10000:
        return int(round(response_time, -2))
    return int(round(response_time, -3))


def percentile(hist: Counter[int], count: int, pct: float) -> float | None:
    """Locust's percentile rule on a ``{rounded_ms: count}`` histogram; None without requests."""
    if count <= 0 or not hist:
        return None
    wanted = int(count * pct / 100.0)
    seen = 0
    for value in sorted(hist, reverse=True):
        seen += hist[value]
        if count - seen <= wanted:
            return float(value)
    return 0.0


@dataclass
class Cell:
    requests: int = 0
    failures: int = 0
    hist: Counter[int] = field(default_factory=Counter)

    def add(self, requests: int, failures: int, hist: dict[Any, int]) -> None:
        self.requests += requests
        self.failures += failures
        for ms, n in hist.items():
            self.hist[int(ms)] += int(n)

    def merge(self, other: Cell) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.hist.update(other.hist)


@dataclass(frozen=True)
class Stats:
    """Aggregated over a span of seconds."""

    requests: int
    failures: int
    seconds: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    cell: Cell

    @property
    def error_rate(self) -> float | None:
        return None if self.requests == 0 else self.failures / self.requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def latency(self, pct: float) -> float | None:
        return percentile(self.cell.hist, self.requests, pct)

    def as_dict(self) -> dict[str, Any]:
        rate = self.error_rate
        return {
            "requests": self.requests,
            "failures": self.failures,
            "error_rate": None if rate is None else round(rate, 6),
            "rps": round(self.rps, 3),
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
        }


def stats_of(cell: Cell, seconds: float) -> Stats:
    return Stats(
        requests=cell.requests,
        failures=cell.failures,
        seconds=seconds,
        p50_ms=percentile(cell.hist, cell.requests, 50),
        p95_ms=percentile(cell.hist, cell.requests, 95),
        p99_ms=percentile(cell.hist, cell.requests, 99),
        cell=cell,
    )


class Series:
    """Thread-safe: a reader thread adds, probes and the report read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cells: dict[int, dict[str, Cell]] = {}

    def add(self, tick: int, endpoints: dict[str, Any]) -> None:
        with self._lock:
            row = self._cells.setdefault(tick, {})
            total = row.setdefault(TOTAL, Cell())
            for name, data in endpoints.items():
                n, f, rt = int(data.get("n", 0)), int(data.get("f", 0)), data.get("rt", {})
                row.setdefault(name, Cell()).add(n, f, rt)
                total.add(n, f, rt)

    def seconds(self) -> list[int]:
        with self._lock:
            return sorted({tick // TICKS_PER_S for tick in self._cells})

    def endpoints(self) -> list[str]:
        with self._lock:
            return sorted({name for row in self._cells.values() for name in row if name != TOTAL})

    def _merge(self, first_tick: int, end_tick: int, endpoint: str | None) -> Cell:
        merged = Cell()
        with self._lock:
            span = end_tick - first_tick
            ticks = (
                range(first_tick, end_tick)
                if span <= len(self._cells)
                else [t for t in self._cells if first_tick <= t < end_tick]
            )
            for tick in ticks:
                found = self._cells.get(tick, {}).get(endpoint or TOTAL)
                if found is not None:
                    merged.merge(found)
        return merged

    def cell(self, second: int, endpoint: str | None = None) -> Cell:
        """One whole second."""
        return self._merge(second * TICKS_PER_S, (second + 1) * TICKS_PER_S, endpoint)

    def span(self, start: float, end: float, endpoint: str | None = None, until: float | None = None) -> Stats:
        """The ticks that lie mostly inside ``[start, end)`` (wall-clock; both ends rounded to the nearest tick
        boundary, so neighbouring windows never share a tick). ``until``: data exists up to then (now, or when
        the load stopped), so the rate of a window is over the time it really covers."""
        first = round(start * TICKS_PER_S)
        last = max(first, round(end * TICKS_PER_S))
        covered = last / TICKS_PER_S if until is None else min(last / TICKS_PER_S, until)
        return stats_of(self._merge(first, last, endpoint), max(0.0, covered - first / TICKS_PER_S))

    def recent(
        self, last: float, end: float, started_at: float, endpoint: str | None = None, since: float | None = None
    ) -> tuple[float, Stats]:
        """The last ``last`` seconds before ``end``, never before ``started_at`` nor before ``since`` (the last
        fault revert: rounded up to the next tick, so no tick of the fault window is judged). Returns the
        window's start and its stats."""
        start = max(end - last, started_at)
        if since is not None:
            start = max(start, math.ceil(since * TICKS_PER_S) / TICKS_PER_S)
        return start, self.span(start, max(start, end), endpoint, until=end)

    def per_second(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        rows = []
        for second in self.seconds():
            cell = self.cell(second, endpoint)
            if endpoint is not None and cell.requests == 0:
                continue
            st = stats_of(cell, 1.0)
            rows.append(
                {
                    "t": second,
                    "requests": st.requests,
                    "failures": st.failures,
                    "p50_ms": st.p50_ms,
                    "p95_ms": st.p95_ms,
                    "p99_ms": st.p99_ms,
                }
            )
        return rows
