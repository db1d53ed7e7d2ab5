"""``journal.load``: the per-second series, each window's error rate / latency / rps, and the time-to-recovery
measured from the load stream.

Time-to-recovery (load-derived): the first whole second after the last fault's revert (the second that holds
the revert is partly fault time, so it is not judged) from which every second for ``recovery.hold`` is healthy
-- it has requests, its error rate is at most
``recovery.error_rate_max`` and (if set) its latency at ``recovery.percentile`` is at most
``recovery.latency_ms_max`` -- minus the revert time. A second without completed requests is not healthy:
no traffic is no evidence of recovery. The resolution is one second.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Protocol

from chaoskit_locust.params import RecoveryTolerance
from chaoskit_locust.series import TICKS_PER_S, Series, stats_of

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

STATS_GRACE_S = 0.5


class HasSeries(Protocol):
    series: Series
    started_at: float
    delays: list[float]

    def until(self) -> float: ...


def healthy(series: Series, second: int, tol: RecoveryTolerance) -> bool:
    stats = stats_of(series.cell(second, tol.endpoint), 1.0)
    if stats.requests == 0 or (stats.error_rate or 0.0) > tol.error_rate_max:
        return False
    if tol.latency_ms_max is not None:
        latency = stats.latency(tol.percentile)
        return latency is not None and latency <= tol.latency_ms_max
    return True


def time_to_recovery(series: Series, reverted_at: float, until: float, tol: RecoveryTolerance) -> dict[str, Any]:
    """When the SLI, measured on the load, is back within ``tol`` for ``tol.hold`` seconds after ``reverted_at``."""
    hold = max(1, math.ceil(tol.hold))
    last = int(until // 1) - 1  # the last complete second
    run = 0
    for second in range(math.ceil(reverted_at), last + 1):
        run = run + 1 if healthy(series, second, tol) else 0
        if run >= hold:
            start = second - hold + 1
            return {
                "recovered": True,
                "recovered_at": float(start),
                "ttr_s": round(max(0.0, start - reverted_at), 3),
            }
    return {
        "recovered": False,
        "recovered_at": None,
        "ttr_s": None,
        "reason": f"the load never stayed within tolerance for {tol.hold:g}s after the last revert",
    }


def hold_complete_at(reverted_at: float, tol: RecoveryTolerance) -> float:
    """The earliest wall-clock time at which a recovery hold after ``reverted_at`` can have been observed."""
    return math.ceil(reverted_at) + max(1, math.ceil(tol.hold))


def settle(
    series: Series, reverted_at: float | None, tol: RecoveryTolerance, check: Callable[[], None] = lambda: None
) -> None:
    """Keep the load up (the caller stops it afterwards) until the load-derived recovery after the last revert
    is measured: the hold completed, or it cannot have (no healthy second at the earliest time a hold could
    complete). Bounded: at most until that earliest time plus one more hold. Nothing to wait for without a
    revert. ``STATS_GRACE_S`` covers the stats' trip from the load's children. ``check`` raises if the load broke."""
    if reverted_at is None:
        return
    earliest = hold_complete_at(reverted_at, tol) + STATS_GRACE_S
    give_up = max(earliest, time.time()) + max(1, math.ceil(tol.hold)) + STATS_GRACE_S
    while True:
        check()
        now = time.time()
        if time_to_recovery(series, reverted_at, now, tol)["recovered"] or now >= give_up:
            return
        if now >= earliest and healthy_tail(series, now, tol) == 0:
            return  # not recovering (yet): the verdict is "not recovered", waiting longer shows nothing new
        time.sleep(0.1)


def healthy_tail(series: Series, until: float, tol: RecoveryTolerance) -> int:
    """How many complete seconds before ``until`` are healthy in a row."""
    count = 0
    second = int(until // 1) - 1
    while second >= 0 and healthy(series, second, tol):
        count += 1
        second -= 1
        if count > tol.hold + 1:
            break
    return count


def _percentile(values: Sequence[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))], 4)


def build_report(run: HasSeries, windows: list[dict[str, Any]], tol: RecoveryTolerance) -> dict[str, Any]:
    until = run.until()
    series = run.series
    shown = []
    for window in windows:
        start = window.get("started_at")
        if start is None:
            continue
        end = window.get("ended_at") or until
        stats = series.span(float(start), float(end), tol.endpoint, until=until)
        shown.append({"name": window.get("name"), "started_at": start, "ended_at": end, **stats.as_dict()})
    reverts = [w["ended_at"] for w in windows if str(w.get("name", "")).startswith("fault:") and w.get("ended_at")]
    recovery: dict[str, Any] = {"tolerance": tol.model_dump(mode="json"), "last_revert_at": None}
    if reverts:
        last_revert = max(float(r) for r in reverts)
        recovery["last_revert_at"] = last_revert
        recovery["judged_from"] = float(math.ceil(last_revert))  # the samples the load TTR was judged on
        recovery.update(time_to_recovery(series, last_revert, until, tol))
    else:
        recovery.update({"recovered": None, "ttr_s": None, "reason": "no fault was reverted"})
    with_data = series.seconds()
    return {
        "driver": "locust",
        "started_at": run.started_at,
        "ended_at": until,
        "total": series.span(run.started_at, until, until=until).as_dict() if with_data else None,
        "windows": shown,
        "recovery": recovery,
        "ttr_s": recovery.get("ttr_s"),
        "resolution_s": {"windows": 1 / TICKS_PER_S, "series": 1.0, "ttr": 1.0},
        "stats_delay_s": {
            "p50": _percentile(run.delays, 50),
            "p95": _percentile(run.delays, 95),
            "max": _percentile(run.delays, 100),
            "lines": len(run.delays),
        },
        "series": series.per_second(),
        "endpoints": {name: series.per_second(name) for name in series.endpoints()},
    }
