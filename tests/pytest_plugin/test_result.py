"""ChaosResult helpers and the failure report, on journals built in memory."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chaoskit.model.journal import FaultRecord, Journal, Outcome, PhaseRecord
from chaoskit.pytest_plugin import ChaosResult, NoLoadData, NoRecoveryMeasured
from chaoskit.pytest_plugin.report import format_report
from chaoskit.pytest_plugin.session import dir_name


def _journal(load: dict[str, Any] | None = None, ttr: float | None = 1.2, recovery: bool = True) -> Journal:
    t = time.time()
    phases = [PhaseRecord(name="baseline", started_at=t, ended_at=t + 1)]
    if recovery:
        phases.append(PhaseRecord(name="recovery", started_at=t + 3, ended_at=t + 4))
    return Journal(
        run_id="r1",
        chaoskit_version="0",
        title="t",
        experiment={"recovery": {"within": "5s"}},
        started_at=t,
        outcome=Outcome.PASSED,
        exit_code=0,
        ttr_s=ttr,
        phases=phases,
        faults=[
            FaultRecord(name="slow db", plugin="p", params={}, ledger_id="x", injected_at=t + 1, reverted_at=t + 3)
        ],
        load=load,
    )


LOAD = {
    "windows": [
        {"name": "baseline", "requests": 100, "failures": 0, "rps": 50.0, "p95_ms": 12.0},
        {"name": "fault:slow db", "requests": 80, "failures": 8, "rps": 40.0, "p95_ms": 480.0},
    ]
}


def test_load_windows() -> None:
    result = ChaosResult(_journal(LOAD))
    assert result.window("fault").error_rate == pytest.approx(0.1)  # derived from requests/failures
    assert result.window("fault:slow db").p95_ms == 480.0
    assert result.window("baseline").error_rate == 0.0
    assert result.window("baseline").rps == 50.0
    with pytest.raises(NoLoadData, match=r"has no 'p99_ms'.*p95_ms, requests"):
        _ = result.window("baseline").p99_ms
    with pytest.raises(NoLoadData, match="no load window 'recovery'; the run has: 'baseline', 'fault:slow db'"):
        result.window("recovery")
    as_mapping = {"windows": {w["name"]: w for w in LOAD["windows"]}}  # type: ignore[index]
    assert ChaosResult(_journal(as_mapping)).window("fault").rps == 40.0


def test_load_windows_degrade_with_a_clear_error() -> None:
    with pytest.raises(NoLoadData, match="no load data: the experiment has no `load:` block"):
        ChaosResult(_journal(None)).window("fault")
    with pytest.raises(NoLoadData, match=r"reported no windows \(journal.load has keys \['series'\]\)"):
        ChaosResult(_journal({"series": []})).window("fault")
    two = {"windows": [{"name": "fault:a", "rps": 1}, {"name": "fault:b", "rps": 2}]}
    with pytest.raises(NoLoadData, match="several fault windows, name one: 'fault:a', 'fault:b'"):
        ChaosResult(_journal(two)).window("fault")


def test_recovered_within() -> None:
    assert ChaosResult(_journal(ttr=1.2)).recovered_within("2s")
    assert ChaosResult(_journal(ttr=1.2)).recovered_within(1.2)
    assert not ChaosResult(_journal(ttr=1.2)).recovered_within("500ms")
    assert not ChaosResult(_journal(ttr=None)).recovered_within("10s")
    with pytest.raises(NoRecoveryMeasured, match="measured no recovery"):
        ChaosResult(_journal(ttr=None, recovery=False)).recovered_within("10s")
    with pytest.raises(ValueError, match="invalid duration"):
        ChaosResult(_journal()).recovered_within("soon")


def test_report_shows_faults_ttr_and_load() -> None:
    text = format_report(_journal(LOAD))
    assert "chaos experiment 't': PASSED (exit 0)" in text
    assert "slow db (p): injected +1.00s, reverted +3.00s (2.00s)" in text
    assert "time to recovery: 1.2s (allowed 5s)" in text
    assert "fault:slow db: error rate 10.00%, p95 480 ms, 40.0 rps" in text
    assert format_report(_journal({"windows": [{"name": "w", "rps": 2}]})).endswith("w: 2.0 rps")


def test_dir_names_are_safe_and_unique() -> None:
    assert dir_name("tests/test_api.py::test_x") == "tests-test_api.py--test_x"
    odd = dir_name("tests/test_api.py::test_x[a b/c]")
    assert "/" not in odd and " " not in odd
    assert odd != dir_name("tests/test_api.py::test_x[a_b/c]")
    assert len(dir_name("t.py::" + "x" * 500)) <= 120
