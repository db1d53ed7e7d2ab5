"""Real runs, in process: a real local HTTP service, real files, real subprocesses."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chaoskit import Outcome, RunOptions, run_experiment, validate_document
from chaoskit.hooks import hookimpl
from chaoskit.ledger import pending_ledgers
from chaoskit.model.journal import Journal
from tests.conftest import HttpService


def run(tmp_path: Path, doc: dict[str, Any], hooks: list[Any] | None = None, **opts: Any) -> Journal:
    loaded = validate_document(doc, source=str(tmp_path / "exp.yaml"))
    return run_experiment(loaded, RunOptions(out_dir=tmp_path / "runs", hooks=hooks or [], **opts))


def health(service: HttpService, **expect: Any) -> dict[str, Any]:
    return {
        "name": "health",
        "probe": "http",
        "with": {"url": f"{service.url}/health", "timeout": "2s"},
        "expect": expect or {"status": 200},
    }


def marker(path: str = "marker", **extra: Any) -> dict[str, Any]:
    return {"fault": "testkit.marker", "with": {"path": path}, **extra}


def test_passed_with_ttr_and_the_fault_window_recorded(tmp_path: Path, http_service: HttpService) -> None:
    journal = run(
        tmp_path,
        {
            "title": "pass",
            "steady_state": {"probes": [health(http_service)]},
            "method": [marker(duration="200ms")],
            "recovery": {"within": "2s", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.PASSED and journal.exit_code == 0
    assert journal.ttr_s == 0.0
    assert [p.name for p in journal.phases] == ["baseline", "method", "revert", "recovery"]
    fault = journal.faults[0]
    assert fault.injected_at and fault.reverted_at and fault.reverted_at - fault.injected_at >= 0.2
    assert not (tmp_path / "marker").exists()
    written = json.loads(Path(journal.artifacts["journal"]).read_text())
    assert written["schema"] == "chaoskit.journal/1" and written["outcome"] == "passed"
    assert pending_ledgers() == []  # a clean run removes its ledger


def test_baseline_not_met_injects_nothing(tmp_path: Path, http_service: HttpService) -> None:
    http_service.state.status = 503
    journal = run(tmp_path, {"title": "b", "steady_state": {"probes": [health(http_service)]}, "method": [marker()]})
    assert journal.outcome == Outcome.BASELINE_NOT_MET and journal.exit_code == 2
    assert journal.faults == []
    assert "status 503 not in [200]" in journal.reason


def test_not_recovered_is_deviated_and_ttr_measured_when_it_recovers(tmp_path: Path, http_service: HttpService) -> None:
    # The service breaks when the fault is injected and heals 0.6 s after revert: TTR ~0.6 s (interval 100 ms).
    def breaker() -> None:
        while not (tmp_path / "marker").exists():
            time.sleep(0.01)
        http_service.state.status = 500
        while (tmp_path / "marker").exists():
            time.sleep(0.01)
        time.sleep(0.6)
        http_service.state.status = 200

    threading.Thread(target=breaker, daemon=True).start()
    journal = run(
        tmp_path,
        {
            "title": "ttr",
            "steady_state": {"probes": [health(http_service)]},
            "method": [marker(duration="300ms")],
            "recovery": {"within": "5s", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.PASSED, journal.reason
    assert journal.ttr_s is not None and 0.5 <= journal.ttr_s <= 1.0

    http_service.state.status = 200

    def break_once_injected() -> None:  # after the baseline, however slow the machine is
        while not (tmp_path / "marker").exists():
            time.sleep(0.01)
        http_service.state.status = 500

    threading.Thread(target=break_once_injected, daemon=True).start()
    journal = run(
        tmp_path,
        {
            "title": "dev",
            "steady_state": {"probes": [health(http_service)]},
            "method": [marker(duration="600ms")],
            "recovery": {"within": "500ms", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.DEVIATED and journal.exit_code == 1
    assert "not recovered within 0.5s" in journal.reason


def test_continuous_strategy_catches_a_deviation_during_the_method(tmp_path: Path, http_service: HttpService) -> None:
    def flap() -> None:
        while not (tmp_path / "marker").exists():
            time.sleep(0.01)
        http_service.state.status = 500
        time.sleep(0.4)
        http_service.state.status = 200

    threading.Thread(target=flap, daemon=True).start()
    journal = run(
        tmp_path,
        {
            "title": "c",
            "steady_state": {"strategy": "continuous", "frequency": "100ms", "probes": [health(http_service)]},
            "method": [marker(duration="1s")],
            "recovery": {"within": "2s", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.DEVIATED
    assert "deviated during the method" in journal.reason
    assert sum(1 for o in journal.observations if o.phase == "method") >= 5


def test_abort_when_stops_the_run_and_reverts(tmp_path: Path, http_service: HttpService) -> None:
    def break_once_injected() -> None:  # after the baseline, however slow the machine is
        while not (tmp_path / "marker").exists():
            time.sleep(0.01)
        http_service.state.status = 500

    threading.Thread(target=break_once_injected, daemon=True).start()
    started = time.monotonic()
    journal = run(
        tmp_path,
        {
            "title": "abort",
            "steady_state": {"probes": [health(http_service)]},
            "method": [marker(duration="20s")],
            "safety": {"interval": "100ms", "abort_when": [health(http_service, status=[500])]},
        },
    )
    assert journal.outcome == Outcome.ABORTED and journal.exit_code == 3
    assert "safety.abort_when[0] (health) TRIGGERED: status = 500 in [500]" in journal.reason
    assert time.monotonic() - started < 10
    assert journal.faults[0].reverted_at is not None and not (tmp_path / "marker").exists()


def test_max_duration_aborts_and_reverts(tmp_path: Path) -> None:
    started = time.monotonic()
    journal = run(tmp_path, {"title": "slow", "method": [marker(duration="30s")], "safety": {"max_duration": "700ms"}})
    assert journal.outcome == Outcome.ABORTED and "safety.max_duration (0.7s) reached" in journal.reason
    assert time.monotonic() - started < 5
    assert not (tmp_path / "marker").exists()


def test_failed_inject_is_error_and_the_partial_fault_is_reverted(tmp_path: Path) -> None:
    journal = run(
        tmp_path,
        {"title": "e", "method": [{"fault": "testkit.marker", "with": {"path": "marker", "fail_inject": True}}]},
    )
    assert journal.outcome == Outcome.ERROR and journal.exit_code == 4
    assert "inject failed on purpose" in journal.reason
    assert not (tmp_path / "marker").exists()  # inject wrote it, revert removed it
    assert journal.errors and journal.errors[0].traceback


def test_hanging_inject_times_out_and_is_reverted(tmp_path: Path) -> None:
    started = time.monotonic()
    journal = run(
        tmp_path,
        {
            "title": "hang",
            "method": [{"fault": "testkit.marker", "timeout": "300ms", "with": {"path": "marker", "inject_delay": 5}}],
        },
    )
    assert journal.outcome == Outcome.ERROR
    assert "did not finish within 0.3s" in journal.reason
    assert time.monotonic() - started < 3
    assert not (tmp_path / "marker").exists()


def test_hanging_probe_is_a_failed_observation(tmp_path: Path) -> None:
    journal = run(
        tmp_path,
        {
            "title": "p",
            "steady_state": {
                "probes": [
                    {"probe": "testkit.sleep", "with": {"seconds": 5}, "timeout": "200ms", "expect": {"equals": True}}
                ]
            },
            "method": [{"pause": "10ms"}],
        },
    )
    assert journal.outcome == Outcome.BASELINE_NOT_MET
    assert "did not finish within 0.2s" in journal.reason


def test_failed_revert_is_loud_and_keeps_the_ledger(tmp_path: Path) -> None:
    journal = run(
        tmp_path,
        {"title": "r", "method": [{"fault": "testkit.marker", "with": {"path": "marker", "fail_revert": True}}]},
    )
    assert journal.outcome == Outcome.ERROR
    assert "revert failed for testkit.marker" in journal.reason and "chaoskit rollback" in journal.reason
    assert journal.faults[0].revert_error == "marker: revert failed on purpose"
    ledgers = pending_ledgers()
    assert len(ledgers) == 1 and json.loads(ledgers[0].read_text())["entries"][0]["state"] == "revert-failed"


def test_reverts_are_lifo_and_rollbacks_run_after_them(tmp_path: Path) -> None:
    order: list[str] = []

    class Spy:
        @hookimpl
        def chaoskit_fault_reverted(self, journal: Journal, fault: Any) -> None:
            order.append(f"revert {fault.name}")

        @hookimpl
        def chaoskit_activity_finished(self, journal: Journal, kind: str, record: Any) -> None:
            if kind == "action":
                order.append(f"action {record.name}")

    journal = run(
        tmp_path,
        {
            "title": "lifo",
            "method": [{**marker("a"), "name": "A"}, {**marker("b"), "name": "B"}, {**marker("c"), "name": "C"}],
            "rollbacks": [{"name": "rb", "action": "process", "with": {"command": ["true"]}}],
        },
        hooks=[Spy()],
    )
    assert journal.outcome == Outcome.PASSED
    assert order == ["revert C", "revert B", "revert A", "action rb"]


def test_a_failing_rollback_is_an_error(tmp_path: Path) -> None:
    journal = run(
        tmp_path,
        {
            "title": "rb",
            "method": [{"pause": "10ms"}],
            "rollbacks": [{"action": "process", "with": {"command": ["false"]}}],
        },
    )
    assert journal.outcome == Outcome.ERROR
    assert "exited with 1" in journal.reason


def test_secrets_never_reach_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CK_TEST_TOKEN", "sup3r-s3cret")
    journal = run(
        tmp_path,
        {
            "title": "s",
            "secrets": {"token": {"env": "CK_TEST_TOKEN"}},
            "method": [{"action": "process", "with": {"command": ["sh", "-c", "echo ${token}; exit 3"]}}],
        },
    )
    assert journal.outcome == Outcome.ERROR
    text = Path(journal.artifacts["journal"]).read_text()
    assert "sup3r-s3cret" not in text
    assert "***" in text


def test_hook_errors_are_recorded_not_swallowed(tmp_path: Path) -> None:
    class Broken:
        @hookimpl
        def chaoskit_phase_started(self, journal: Journal, phase: str) -> None:
            raise RuntimeError("boom in hook")

    journal = run(tmp_path, {"title": "h", "method": [{"pause": "10ms"}, {"pause": "10ms"}]}, hooks=[Broken()])
    assert journal.outcome == Outcome.PASSED
    # one record per distinct error, although the hook failed for every phase
    assert len([e for e in journal.errors if e.where.startswith("hook chaoskit_phase_started")]) == 1
    assert any(
        e.where.startswith("hook chaoskit_phase_started") and e.message == "boom in hook" for e in journal.errors
    )


def test_dry_run_plans_but_injects_nothing(tmp_path: Path, http_service: HttpService) -> None:
    journal = run(
        tmp_path,
        {"title": "d", "steady_state": {"probes": [health(http_service)]}, "method": [marker(duration="5s")]},
        dry_run=True,
    )
    assert journal.outcome == Outcome.DRY_RUN and journal.dry_run and journal.exit_code == 0
    assert journal.faults[0].revert_info["path"].endswith("marker") and journal.faults[0].injected_at is None
    assert not (tmp_path / "marker").exists()
    assert http_service.state.hits == 0 and journal.observations == []


def test_background_fault_overlaps_the_next_step(tmp_path: Path) -> None:
    journal = run(
        tmp_path,
        {
            "title": "bg",
            "method": [
                {**marker("a"), "name": "A", "duration": "400ms", "background": True},
                {"probe": "testkit.file_exists", "with": {"path": "a"}, "expect": {"equals": True}},
                {"pause": "100ms"},
            ],
        },
    )
    assert journal.outcome == Outcome.PASSED, journal.reason
    fault = journal.faults[0]
    assert fault.reverted_at is not None and fault.injected_at is not None
    assert fault.reverted_at - fault.injected_at >= 0.4


def test_a_plugin_error_at_run_start_ends_the_run_before_any_fault(tmp_path: Path) -> None:
    from chaoskit.errors import PluginError

    class Preparer:
        @hookimpl
        def chaoskit_run_started(self, journal: Journal) -> None:
            raise PluginError("cannot create proxy db: port 5432 in use")

    journal = run(tmp_path, {"title": "h", "method": [marker()]}, hooks=[Preparer()])
    assert journal.outcome == Outcome.ERROR and "port 5432 in use" in journal.reason
    assert journal.faults == [] and not (tmp_path / "marker").exists()


def test_a_signal_during_the_reverts_waits_for_them_then_interrupts(tmp_path: Path) -> None:
    import os
    import signal

    class Sender:
        @hookimpl
        def chaoskit_phase_started(self, journal: Journal, phase: str) -> None:
            if phase == "revert":
                os.kill(os.getpid(), signal.SIGTERM)  # delivered right here, in the main thread

    journal = run(
        tmp_path,
        {
            "title": "sig",
            "method": [{**marker("a"), "name": "A"}, {**marker("b"), "name": "B"}],
            "rollbacks": [{"action": "process", "with": {"command": ["touch", "rb"]}}],
        },
        hooks=[Sender()],
    )
    assert journal.outcome == Outcome.INTERRUPTED and "SIGTERM" in journal.reason
    assert all(f.reverted_at is not None for f in journal.faults)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert (tmp_path / "rb").exists()
    assert pending_ledgers() == []


@pytest.mark.parametrize(
    ("after_revert", "outcome", "ttr"),
    [
        ([(None, 0.5)], Outcome.PASSED, (0.0, 0.0)),  # no data, then healthy: never seen broken, TTR 0
        ([(0.5, 0.4), (None, 0.4)], Outcome.PASSED, (0.8, 1.5)),  # a real miss, no data, then healthy
        ([(None, 30.0)], Outcome.DEVIATED, None),  # no data until the recovery deadline: not recovered
    ],
)
def test_a_recovery_sample_with_no_data_is_neither_a_miss_nor_a_pass(
    tmp_path: Path,
    http_service: HttpService,
    after_revert: list[tuple[float | None, float]],
    outcome: Outcome,
    ttr: tuple[float, float] | None,
) -> None:
    # The service reports an error rate; right after the revert it has none yet (null), as a load probe has no
    # request in its window yet. Such a sample is pending: recovery polls on, and it does not count in the TTR.
    http_service.state.body = '{"error_rate": 0.0}'

    def after_the_revert() -> None:
        while not (tmp_path / "marker").exists():
            time.sleep(0.01)
        http_service.state.body = json.dumps({"error_rate": after_revert[0][0]})  # set before the revert
        while (tmp_path / "marker").exists():
            time.sleep(0.01)
        for i, (value, seconds) in enumerate(after_revert):
            http_service.state.body = json.dumps({"error_rate": value})
            time.sleep(seconds if i else seconds - 0.01)
        http_service.state.body = '{"error_rate": 0.0}'

    threading.Thread(target=after_the_revert, daemon=True).start()
    rate = {
        "name": "errors",
        "probe": "http",
        "with": {"url": f"{http_service.url}/stats", "timeout": "2s"},
        "expect": {"jsonpath": "$.error_rate", "max": 0.05},
    }
    journal = run(
        tmp_path,
        {
            "title": "no data",
            "steady_state": {"probes": [rate]},
            "method": [marker(duration="200ms")],
            "recovery": {"within": "2s", "interval": "100ms"},
        },
    )
    assert journal.outcome == outcome, journal.reason
    recovery = [o for o in journal.observations if o.phase == "recovery"]
    pending = [o for o in recovery if o.ok is None]
    assert pending and all(o.reason.startswith("pending, no data yet") for o in pending)
    assert all(o.details["json"] == {"error_rate": None} for o in pending)
    if ttr is None:
        assert journal.ttr_s is None and "not recovered within 2s" in journal.reason and "no data" in journal.reason
        assert all(o.ok is None for o in recovery)
    else:
        assert journal.ttr_s is not None and ttr[0] <= journal.ttr_s <= ttr[1], journal.ttr_s
        assert recovery[-1].ok is True and (ttr[0] == 0.0) == all(o.ok is not False for o in recovery)
