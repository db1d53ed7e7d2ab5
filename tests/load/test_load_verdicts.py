"""Load verdicts judge the right samples (issue 14): real Locust load against a real loopback service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaoskit.model.journal import Outcome
from tests.conftest import HttpService
from tests.load.loadkit import ServiceFault, run_doc, write_locustfile


def _doc(service: HttpService, fault: dict[str, Any], probes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "title": "load verdicts",
        "load": {
            "locustfile": "locustfile.py",
            "host": service.url,
            "users": 4,
            "spawn_rate": 50,
            "warmup": "1s",
            "recovery": {"error_rate_max": 0.01, "hold": "2s"},
        },
        "steady_state": {"probes": probes},
        "method": [{"fault": "svc.status", "with": fault, "duration": "2s"}],
        "safety": {"max_duration": "2m"},
        **extra,
    }


def test_recovery_never_judges_fault_window_samples(tmp_path: Path, http_service: HttpService) -> None:
    # Healthy during the fault; the revert "restarts" the service, which answers 503 for 2 s. A `last: 5s`
    # window read right after the revert would be all fault-time 200s and pass at once ("recovered in 0s").
    write_locustfile(tmp_path)
    fault = ServiceFault(http_service)
    errors = {"name": "errors", "probe": "load.error_rate", "with": {"last": "5s"}, "expect": {"max": 0.05}}
    doc = _doc(
        http_service,
        {"status": 200, "revert_status": 503, "recover_after_s": 2.0},
        [errors],
        recovery={"within": "20s", "interval": "250ms"},
    )
    journal = run_doc(doc, tmp_path, {"svc.status": fault.plugin()})

    assert journal.outcome == Outcome.PASSED, journal.reason
    assert fault.reverted_at is not None and fault.recovered_at is not None
    truth = fault.recovered_at - fault.reverted_at
    assert journal.ttr_s is not None and journal.ttr_s >= truth, (journal.ttr_s, truth)
    last_revert = journal.faults[-1].reverted_at
    assert last_revert is not None
    recovery = [o for o in journal.observations if o.phase == "recovery"]
    assert len(recovery) > 2 and recovery[0].ok is not True  # the first checks see no (pending) or failing data
    for obs in recovery:  # the journal says which samples each verdict used: none from the fault window
        assert obs.details["after_last_revert"] is True
        assert last_revert <= obs.details["samples_from"] <= obs.details["samples_to"]
    baseline = next(o for o in journal.observations if o.phase == "baseline")
    assert baseline.details["after_last_revert"] is False
    # The load-derived TTR is judged from the first whole second after the revert, and sees the 503s too.
    load = journal.load.model_dump(mode="json") if journal.load is not None else {}  # the JSON shape
    assert load["recovery"]["judged_from"] >= last_revert
    assert load["recovery"]["recovered"] is True and load["recovery"]["ttr_s"] >= truth - 1.0


def test_a_passing_loaded_run_has_a_load_ttr(tmp_path: Path, http_service: HttpService) -> None:
    # 0 % errors throughout and a steady state that recovers at once: the load must still run until its
    # recovery hold (2 s after the revert) can complete, so the run has a load-derived TTR.
    write_locustfile(tmp_path)
    fault = ServiceFault(http_service)
    health = {
        "name": "health",
        "probe": "http",
        "with": {"url": f"{http_service.url}/health"},
        "expect": {"status": 200},
    }
    doc = _doc(http_service, {"status": 200}, [health], recovery={"within": "5s", "interval": "100ms"})
    journal = run_doc(doc, tmp_path, {"svc.status": fault.plugin()})

    assert journal.outcome == Outcome.PASSED, journal.reason
    assert journal.ttr_s == 0.0
    load = journal.load.model_dump(mode="json") if journal.load is not None else {}  # the JSON shape
    rec = load["recovery"]
    assert rec["recovered"] is True, rec
    assert rec["ttr_s"] is not None and rec["ttr_s"] < 1.0  # the first whole second after the revert
    assert load["ended_at"] >= rec["judged_from"] + 2.0  # the load outlived the hold
    assert load["windows"][-1]["error_rate"] == 0.0


def test_the_score_respects_the_outcome_and_the_experiments_own_tolerance(
    tmp_path: Path, http_service: HttpService
) -> None:
    # The same experiment twice: p95 ~300 ms during a latency fault (50x+ the p95 before it). With a p95 tolerance
    # of 1000 ms the run passes and the latency inside the tolerance costs nothing; with 150 ms it deviates, and
    # then it scores below the passed run, whatever else happened. The tolerance also judges the baseline, so it
    # stays far above an unfaulted p95 on a busy machine (it was 50 ms: a loaded machine's baseline missed it, the
    # run ended baseline-not-met with no fault window, and the test failed with StopIteration).
    from chaoskit.report.facts import collect
    from chaoskit.report.score import score

    scores = {}
    expected = {1000: Outcome.PASSED, 150: Outcome.DEVIATED}
    for max_ms, outcome in expected.items():
        folder = tmp_path / f"max-{max_ms}"
        folder.mkdir()
        write_locustfile(folder)
        latency = {
            "name": "p95",
            "probe": "load.latency",
            "with": {"last": "2s", "percentile": 95},
            "expect": {"max": max_ms},
        }
        doc = _doc(
            http_service,
            {"status": 200, "delay_s": 0.3},
            [latency],
            recovery={"within": "20s", "interval": "250ms"},
        )
        doc["steady_state"].update(strategy="continuous", frequency="500ms")
        journal = run_doc(doc, folder, {"svc.status": ServiceFault(http_service).plugin()})
        assert journal.outcome == outcome, journal.reason
        facts = collect(journal)
        fault = next(w for w in facts.windows if w.kind == "fault")
        assert fault.p95_ms is not None and fault.p95_ms >= 290
        scores[journal.outcome] = score(facts)
    passed, deviated = scores[Outcome.PASSED], scores[Outcome.DEVIATED]
    assert "slower under load" not in {d.what for d in passed.deductions}, passed.deductions
    assert passed.value is not None and passed.value >= 90
    assert deviated.value is not None and deviated.value < passed.value and deviated.value <= 59
    slower = next(d for d in deviated.deductions if d.what == "slower under load")
    assert "over your tolerance of 150 ms" in slower.why
