"""``journal.load`` is a typed :class:`LoadReport`, and the journal's JSON keeps the shape drivers always wrote:
a locust-shaped report survives a round trip key for key, the other forms drivers use (windows as a mapping,
series under "total") are read into the list form, and keys chaoskit does not know are kept where they were."""

from __future__ import annotations

import json
from typing import Any

from chaoskit.model.journal import Journal
from chaoskit.model.load import LoadReport

LOCUST: dict[str, Any] = {
    "driver": "locust",
    "started_at": 1700000000.25,
    "ended_at": 1700000012.5,
    "total": {
        "requests": 480,
        "failures": 12,
        "error_rate": 0.025,
        "rps": 39.5,
        "p50_ms": 8.0,
        "p95_ms": 31.0,
        "p99_ms": None,
    },
    "windows": [
        {
            "name": "baseline",
            "started_at": 1700000001.0,
            "ended_at": 1700000002.0,
            "requests": 40,
            "failures": 0,
            "error_rate": 0.0,
            "rps": 40.0,
            "p50_ms": 8.0,
            "p95_ms": 12.0,
            "p99_ms": 14.0,
        },
        {
            "name": "fault:slow db",
            "started_at": 1700000003.0,
            "ended_at": 1700000008.0,
            "requests": 190,
            "failures": 12,
            "error_rate": 0.063158,
            "rps": 38.0,
            "p50_ms": 300.0,
            "p95_ms": 310.0,
            "p99_ms": 330.0,
        },
    ],
    "recovery": {
        "tolerance": {"error_rate_max": 0.01, "hold": 2.0},
        "last_revert_at": 1700000008.0,
        "judged_from": 1700000009.0,
        "recovered": True,
        "recovered_at": 1700000009.0,
        "ttr_s": 1.0,
    },
    "ttr_s": 1.0,
    "resolution_s": {"windows": 0.1, "series": 1.0, "ttr": 1.0},
    "stats_delay_s": {"p50": 0.2, "p95": 0.3, "max": 0.4, "lines": 12},
    "series": [{"t": 1700000001, "requests": 40, "failures": 0, "p50_ms": 8.0, "p95_ms": 12.0, "p99_ms": 14.0}],
    "endpoints": {"/health": [{"t": 1700000001, "requests": 40, "failures": 0}]},
    "mode": "local",
    "processes": [{"role": "local", "pid": 4242, "returncode": 0}],
}


def test_a_locust_report_round_trips_key_for_key_and_reads_typed() -> None:
    report = LoadReport.model_validate(LOCUST)
    assert json.loads(report.model_dump_json()) == LOCUST
    assert json.dumps(report.model_dump(mode="json"), sort_keys=True) == json.dumps(LOCUST, sort_keys=True)
    assert report.ttr_s == 1.0 and report.recovery is not None and report.recovery.recovered is True
    fault = report.window("fault:slow db", 1700000003.2)
    assert fault is not None and fault.metric("p95_ms") == 310.0 and fault.requests == 190
    assert report.window("fault:slow db", 1700000005.0) is None  # another window of the same name
    assert report.other["mode"] == "local" and report.series[0].t == 1700000001


def test_a_journal_with_load_reads_old_files_and_writes_the_same_shape() -> None:
    old = {"run_id": "r", "chaoskit_version": "0.1", "title": "t", "experiment": {}, "started_at": 1.0, "load": LOCUST}
    journal = Journal.model_validate_json(json.dumps(old))
    assert isinstance(journal.load, LoadReport)
    assert json.loads(journal.model_dump_json(by_alias=True))["load"] == LOCUST


def test_other_forms_drivers_write_are_read_and_error_rate_is_derived() -> None:
    report = LoadReport.model_validate(
        {
            "windows": {"fault:x": {"requests": 4, "failures": 1}},
            "series": {"total": [{"t": 5, "requests": 2}]},
            "custom": {"a": 1},
        }
    )
    (window,) = report.windows
    assert window.name == "fault:x" and window.metric("error_rate") == 0.25 and window.metric("p95_ms") is None
    assert [p.t for p in report.series] == [5]
    assert report.model_dump(mode="json")["custom"] == {"a": 1}
