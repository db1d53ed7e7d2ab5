"""The per-second series, window maths and the load-derived time-to-recovery (no processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from chaoskit_locust.params import RecoveryTolerance
from chaoskit_locust.remote import synthetic_hist
from chaoskit_locust.report import time_to_recovery
from chaoskit_locust.series import Series, bucket_ms, percentile, tick_of

LOCUST_SAYS = """
import json, sys
from locust.stats import bucket_response_time, calculate_response_time_percentile
hist = {10: 50, 20: 40, 300: 9, 2000: 1}
print(json.dumps({
    "buckets": [bucket_response_time(ms) for ms in (0.4, 7, 99.6, 123, 999, 1234, 56789)],
    "percentiles": [calculate_response_time_percentile(hist, 100, p / 100) for p in (50, 90, 95, 99, 100)],
}))
"""


def test_rounding_and_percentiles_match_locust() -> None:
    # Asked of locust in a subprocess: importing locust here would monkey-patch the test process with gevent.
    out = subprocess.run([sys.executable, "-c", LOCUST_SAYS], capture_output=True, text=True, timeout=120, check=True)
    said = json.loads(out.stdout)
    assert [bucket_ms(ms) for ms in (0.4, 7, 99.6, 123, 999, 1234, 56789)] == said["buckets"]
    hist = Counter({10: 50, 20: 40, 300: 9, 2000: 1})
    assert [percentile(hist, 100, p) for p in (50, 90, 95, 99, 100)] == said["percentiles"]
    assert percentile(Counter(), 0, 95) is None
    assert "locust" not in sys.modules and "gevent" not in sys.modules


def _fill(series: Series, second: float, n: int, f: int, ms: int = 10, name: str = "/a") -> None:
    series.add(tick_of(second), {name: {"n": n, "f": f, "rt": {str(ms): n}}})


def test_deltas_merge_per_second_and_endpoint() -> None:
    s = Series()
    _fill(s, 100, 5, 1)
    _fill(s, 100, 5, 0, ms=30)
    _fill(s, 100, 2, 2, name="/b")
    _fill(s, 101, 10, 0)
    whole = s.span(100.0, 102.0, until=102.0)
    assert (whole.requests, whole.failures) == (22, 3)
    assert whole.rps == pytest.approx(11.0)
    only_b = s.span(100.0, 102.0, "/b", until=102.0)
    assert (only_b.requests, only_b.failures, only_b.error_rate) == (2, 2, 1.0)
    _fill(s, 100.55, 3, 3)
    inside = s.span(100.5, 100.7, until=102.0)  # windows are cut at 0.1 s
    assert (inside.requests, inside.failures) == (3, 3) and inside.seconds == pytest.approx(0.2)
    assert s.span(101.0, 101.5, until=101.3).seconds == pytest.approx(0.3)  # only up to the data's end
    assert s.endpoints() == ["/a", "/b"]
    rows = s.per_second()
    assert [r["t"] for r in rows] == [100, 101] and rows[0]["failures"] == 6 and rows[0]["requests"] == 15


def test_time_to_recovery_needs_hold_healthy_seconds() -> None:
    s = Series()
    for second in range(100, 120):
        bad = 100 <= second < 108 or second == 110  # healthy from 108, but 110 breaks it again
        _fill(s, second, 10, 10 if bad else 0)
    tol = RecoveryTolerance(error_rate_max=0.05, hold=3)
    result = time_to_recovery(s, reverted_at=105.4, until=120.0, tol=tol)
    assert result["recovered"] and result["recovered_at"] == 111.0
    assert result["ttr_s"] == pytest.approx(111.0 - 105.4)


def test_time_to_recovery_empty_seconds_and_latency() -> None:
    s = Series()
    for second in range(100, 106):
        _fill(s, second, 10, 0, ms=500 if second < 103 else 20)
    tol = RecoveryTolerance(error_rate_max=0.0, latency_ms_max=100, percentile=95, hold=2)
    assert time_to_recovery(s, 100.0, 106.0, tol)["recovered_at"] == 103.0
    gap = Series()
    _fill(gap, 100, 10, 0)
    _fill(gap, 102, 10, 0)  # 101 has no requests: not evidence of health
    result = time_to_recovery(gap, 100.0, 103.5, RecoveryTolerance(hold=2))
    assert not result["recovered"] and "never stayed" in result["reason"]


def test_synthetic_histogram_reproduces_master_percentiles() -> None:
    hist = Counter(synthetic_hist(200, 12, 80, 300))
    assert sum(hist.values()) == 200
    assert percentile(hist, 200, 50) == 12
    assert percentile(hist, 200, 95) == 80
    assert percentile(hist, 200, 99) == 300


def test_wide_spans_cost_what_the_data_costs() -> None:
    s = Series()
    _fill(s, 1_800_000_000.3, 4, 1)
    whole = s.span(0, 2_000_000_000.0, until=1_800_000_001.0)  # would be 2e10 ticks to walk
    assert (whole.requests, whole.failures) == (4, 1)
