"""End to end, in process: a real experiment with real Locust load against a real loopback service."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from chaoskit.model.journal import Outcome
from tests.load.loadkit import ServiceFault, child_pids, run_doc, write_locustfile


def _doc(service: Any, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": "load under chaos",
        "load": {
            "locustfile": "locustfile.py",  # relative to the experiment file
            "host": service.url,
            "users": 5,
            "spawn_rate": 50,
            "warmup": "2s",
            "recovery": {"error_rate_max": 0.01, "hold": "2s"},
        },
        "steady_state": {
            "probes": [
                {"name": "errors", "probe": "load.error_rate", "with": {"last": "2s"}, "expect": {"max": 0.05}},
                {"probe": "load.latency", "with": {"last": "2s", "percentile": 95}, "expect": {"max": 2000}},
                {"probe": "load.rps", "with": {"last": "2s", "endpoint": "/health"}, "expect": {"min": 5}},
            ]
        },
        "method": [{"fault": "svc.status", "with": {"status": 500, "recover_after_s": 2.0}, "duration": "3s"}],
        "recovery": {"within": "20s", "interval": "500ms"},
        "safety": {"max_duration": "2m"},
    }
    doc.update(extra)
    return doc


def test_fault_window_deviates_and_load_ttr_matches_truth(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path)
    fault = ServiceFault(http_service)
    journal = run_doc(_doc(http_service), tmp_path, {"svc.status": fault.plugin()})

    assert journal.outcome == Outcome.PASSED, (journal.reason, journal.errors)
    load = journal.load.model_dump(mode="json") if journal.load is not None else None  # the JSON shape
    assert load is not None
    windows = {w["name"]: w for w in load["windows"]}
    # Windows are cut at 0.1 s: the warmup's last tick may hold the first failures of the fault that
    # follows it within milliseconds (the baseline is a few probes long).
    assert windows["warmup"]["requests"] > 20 and windows["warmup"]["error_rate"] < 0.2
    assert "baseline" in windows and "method" in windows
    assert windows["fault:svc.status"]["error_rate"] > 0.5  # the SLI deviates in the fault window
    assert windows["fault:svc.status"]["rps"] > 5
    assert windows["recovery"]["requests"] > 0
    # Per-second series, by endpoint too.
    assert len(load["series"]) >= 6 and {"t", "requests", "failures", "p95_ms"} <= set(load["series"][0])
    assert set(load["endpoints"]) == {"/health"}
    # The load-derived TTR against the truth: the service came back recover_after_s after the revert.
    assert fault.recovered_at is not None and fault.reverted_at is not None
    truth = fault.recovered_at - fault.reverted_at
    ttr = load["recovery"]["ttr_s"]
    assert load["recovery"]["recovered"] is True
    assert truth - 0.5 <= ttr <= truth + 2.0, (ttr, truth)
    assert load["ttr_s"] == ttr
    # Stats reach the runner within a second of the request completing.
    assert load["stats_delay_s"]["lines"] > 10 and load["stats_delay_s"]["p95"] < 1.0
    # The probes saw the load (values, not just verdicts).
    rps = [o for o in journal.observations if o.plugin == "load.rps"]
    assert rps and all(isinstance(o.value, float) and o.value > 5 for o in rps if o.phase == "baseline")
    # The orchestrator never imported locust, and the child is gone.
    assert "locust" not in sys.modules and "gevent" not in sys.modules
    assert child_pids(str(tmp_path)) == []


def test_load_probe_in_abort_when(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path)
    fault = ServiceFault(http_service)
    doc = _doc(
        http_service,
        steady_state={"strategy": "skip"},
        safety={
            "max_duration": "2m",
            "interval": "500ms",
            "abort_when": [{"probe": "load.error_rate", "with": {"last": "1s"}, "expect": {"min": 0.5}}],
        },
    )
    doc["method"][0]["duration"] = "30s"
    journal = run_doc(doc, tmp_path, {"svc.status": fault.plugin()})
    assert journal.outcome == Outcome.ABORTED, journal.reason
    assert "load.error_rate) TRIGGERED: load.error_rate = " in journal.reason and journal.reason.endswith(" ≥ 0.5")
    assert journal.load is not None
    fault_window = next(w for w in journal.load.windows if w.name == "fault:svc.status")
    assert fault_window.ended_at is not None and fault_window.started_at is not None
    assert fault_window.ended_at - fault_window.started_at < 20  # aborted well before the 30 s hold


def test_load_probe_without_load_block_is_a_clear_error(tmp_path: Path) -> None:
    doc = {
        "title": "no load",
        "steady_state": {"probes": [{"probe": "load.error_rate", "expect": {"max": 0.01}}]},
        "method": [{"pause": "10ms"}],
    }
    journal = run_doc(doc, tmp_path)
    assert journal.outcome == Outcome.BASELINE_NOT_MET
    error = journal.observations[0].error or ""
    assert "no load is running" in error and "`load:` block" in error
