"""Reason lines: one line per probe, however often it missed.

A continuous steady-state probe checked every 250 ms during a 30 s fault can miss a hundred times; the reason
names it once: how many checks missed out of how many, the first miss and the worst one (the furthest outside
its tolerance, relative to the bound; a probe that failed outright counts as the worst).
"""

from __future__ import annotations

from chaoskit.model.journal import ObservationRecord
from chaoskit.model.tolerance import Check, Expect


def _excess(check: Check, value: object) -> float:
    """How far ``value`` lies outside ``check``'s bounds, relative to the bound (0: inside, or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    over = 0.0
    if check.max is not None and value > check.max:
        over = (value - check.max) / abs(check.max) if check.max else float(value - check.max)
    if check.min is not None and value < check.min:
        over = max(over, (check.min - value) / abs(check.min) if check.min else float(check.min - value))
    return over


def excess(expect: Expect | None, record: ObservationRecord) -> float:
    if record.error is not None:
        return float("inf")
    if expect is None:
        return 0.0
    found = _excess(expect, record.value)
    if expect.latency_ms is not None:
        found = max(found, _excess(expect.latency_ms, record.details.get("latency_ms")))
    return found


class Tally:
    """What a reason line needs of one probe's records, in bounded memory however long the run: the number of
    checks and misses, the first miss and the worst one (the first of the furthest outside)."""

    def __init__(self, expect: Expect | None) -> None:
        self.expect = expect
        self.checks = 0
        self.misses = 0
        self.first: ObservationRecord | None = None
        self.worst: ObservationRecord | None = None
        self._worst_excess = 0.0

    def add(self, record: ObservationRecord) -> None:
        self.checks += 1
        if record.ok is not False:
            return
        self.misses += 1
        found = excess(self.expect, record)
        if self.first is None:
            self.first = self.worst = record
            self._worst_excess = found
        elif found > self._worst_excess:
            self.worst, self._worst_excess = record, found

    def line(self, label: str, where: str) -> str:
        """``checkout deviated during the method (6 of 20 checks missed): first latency_ms 1545 > max 800, worst
        latency_ms 3020 > max 800`` (the worst only when it reads differently from the first)."""
        first, worst = self.first, self.worst
        if first is None or worst is None:
            return f"{label} {where}: no miss"
        text = f"{label} deviated {where} ({self.misses} of {self.checks} checks missed): first {first.reason}"
        if worst is not first and worst.reason != first.reason:
            text += f", worst {worst.reason}"
        return text
