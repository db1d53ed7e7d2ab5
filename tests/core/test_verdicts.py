"""Verdicts that mean what they say (issue 14), on real runs against a real loopback HTTP service."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chaoskit import Outcome, ValidationFailed, validate_document
from tests.conftest import HttpService
from tests.core.test_runner import health, marker, run


def shell(script: str, **extra: Any) -> dict[str, Any]:
    return {"action": "process", "with": {"command": [sys.executable, "-c", script]}, **extra}


def test_a_rollback_that_heals_does_not_hide_a_system_that_does_not_recover(
    tmp_path: Path, http_service: HttpService
) -> None:
    # The method breaks the service's state file (503); only the rollback repairs it. Recovery is judged
    # before the rollbacks, so the run deviates -- and the rollback still runs afterwards.
    broken = tmp_path / "broken"
    http_service.state.broken_when = broken
    journal = run(
        tmp_path,
        {
            "title": "heal in rollback",
            "steady_state": {"probes": [health(http_service)]},
            "method": [shell(f"open({str(broken)!r}, 'w').write('x')", name="break the state file")],
            "rollbacks": [shell(f"import os; os.remove({str(broken)!r})", name="restore the state file")],
            "recovery": {"within": "500ms", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.DEVIATED, journal.reason
    assert "not recovered within 0.5s" in journal.reason and "status 503" in journal.reason
    phases = [p.name for p in journal.phases]
    assert phases.index("recovery") < phases.index("rollbacks")
    assert not broken.exists()  # the rollback ran
    assert [a.name for a in journal.activities] == ["break the state file", "restore the state file"]


def test_on_error_continue_keeps_the_method_going_and_judges_the_steady_state(
    tmp_path: Path, http_service: HttpService
) -> None:
    slow = {"action": "process", "name": "slow job", "with": {"command": ["sleep", "5"], "timeout": "200ms"}}
    journal = run(
        tmp_path,
        {
            "title": "continue",
            "steady_state": {"probes": [health(http_service)]},
            "method": [{**slow, "on_error": "continue"}, marker(duration="100ms")],
            "recovery": {"within": "2s", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.PASSED, journal.reason
    assert "method[0] (slow job) failed, the method went on (on_error: continue)" in journal.reason
    assert "did not exit within 0.2s" in journal.reason
    assert journal.faults and journal.faults[0].reverted_at  # the step after the failed one ran
    assert [o.phase for o in journal.observations] == ["baseline", "recovery"]
    assert [e.where for e in journal.errors] == ["method[0]"]


def test_a_failing_method_action_stops_by_default_and_the_reason_names_the_step(
    tmp_path: Path, http_service: HttpService
) -> None:
    journal = run(
        tmp_path,
        {
            "title": "stop",
            "steady_state": {"probes": [health(http_service)]},
            "method": [shell("raise SystemExit(3)", name="flaky job"), marker()],
        },
    )
    assert journal.outcome == Outcome.ERROR and journal.exit_code == 4
    assert journal.reason.startswith("method[0] (flaky job) failed: "), journal.reason
    assert journal.faults == []  # the method stopped at the failed step


def test_a_fault_that_fails_to_inject_stays_an_error_whatever_on_error_says(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_document({"title": "f", "method": [marker(on_error="continue")]})
    assert "method[0]: on_error: continue applies to action steps only" in str(caught.value)
    assert "a fault that fails to inject always ends the run as error" in str(caught.value)
    journal = run(
        tmp_path, {"title": "f", "method": [{"fault": "testkit.marker", "with": {"path": "m", "fail_inject": True}}]}
    )
    assert journal.outcome == Outcome.ERROR
    assert journal.reason.startswith("method[0] (testkit.marker) failed to inject: marker: inject failed"), (
        journal.reason
    )


def _abort_when(service: HttpService, **expect: Any) -> dict[str, Any]:
    return {"name": "outage", "probe": "http", "with": {"url": f"{service.url}/health"}, "expect": expect}


def test_abort_conditions_that_do_not_trigger_are_not_failures(
    tmp_path: Path, http_service: HttpService, cli: Any
) -> None:
    exp = tmp_path / "exp.yaml"
    doc = {
        "title": "safe",
        "steady_state": {"probes": [health(http_service)]},
        "method": [marker(duration="600ms")],
        "safety": {"interval": "100ms", "abort_when": [_abort_when(http_service, status=503)]},
        "recovery": {"within": "2s", "interval": "100ms"},
    }
    exp.write_text(json.dumps(doc))
    proc = cli("run", str(exp), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "✗" not in proc.stderr and "safety" not in proc.stderr.split("── method")[1].split("── revert")[0]
    journal = json.loads(next((tmp_path / "runs").glob("*/journal.json")).read_text())
    checks = [o for o in journal["observations"] if o["phase"] == "safety"]
    assert len(checks) >= 3
    for check in checks:
        assert check["ok"] is True and check["triggered"] is False
        assert check["reason"] == "not triggered: status = 200 (triggers at status in [503])"
    html = Path(journal["artifacts"]["report"]).read_text()
    assert f"not triggered ({len(checks)} checks)" in html and "TRIGGERED" not in html
    verbose = cli("run", str(exp), "--out", str(tmp_path / "runs"), "-v", cwd=tmp_path)
    assert "✓ probe outage" in verbose.stderr and "not triggered: status = 200" in verbose.stderr


def test_a_triggered_abort_condition_says_so_everywhere(tmp_path: Path, http_service: HttpService, cli: Any) -> None:
    http_service.state.delay_s = 0.05
    exp = tmp_path / "exp.yaml"
    doc = {
        "title": "abort",
        "method": [marker(duration="10s")],
        "safety": {"interval": "100ms", "abort_when": [_abort_when(http_service, latency_ms={"min": 40})]},
    }
    exp.write_text(json.dumps(doc))
    proc = cli("run", str(exp), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    journal = json.loads(next((tmp_path / "runs").glob("*/journal.json")).read_text())
    assert journal["outcome"] == "aborted"
    assert journal["reason"].startswith("safety.abort_when[0] (outage) TRIGGERED: latency_ms = "), journal["reason"]
    assert journal["reason"].endswith(" ≥ 40")
    assert "✗ probe outage" in proc.stderr and "TRIGGERED: latency_ms" in proc.stderr
    (check,) = [o for o in journal["observations"] if o["phase"] == "safety"]
    assert check["triggered"] is True and check["ok"] is False
    html = Path(journal["artifacts"]["report"]).read_text()
    assert "TRIGGERED (1 of 1 checks)" in html
    trace = Path(journal["artifacts"]["trace"]).read_text()
    assert '"chaoskit.abort.triggered"' in trace


def test_a_probe_that_misses_many_times_is_one_reason_line(tmp_path: Path, http_service: HttpService) -> None:
    # The service gets slower while the fault holds: many continuous misses, one line naming first and worst.
    def slow_down() -> None:
        while not (tmp_path / "marker").exists():
            time.sleep(0.01)
        for delay in (0.06, 0.12, 0.2):
            http_service.state.delay_s = delay
            time.sleep(0.4)
        http_service.state.delay_s = 0.0

    threading.Thread(target=slow_down, daemon=True).start()
    journal = run(
        tmp_path,
        {
            "title": "many misses",
            "steady_state": {
                "strategy": "continuous",
                "frequency": "50ms",
                "probes": [health(http_service, status=200, latency_ms={"max": 40})],
            },
            "method": [marker(duration="1.5s")],
            "recovery": {"within": "2s", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.DEVIATED, journal.reason
    assert journal.reason.count("health") == 1, journal.reason
    method = [o for o in journal.observations if o.phase == "method"]
    missed = [o for o in method if o.ok is False]
    assert len(missed) >= 3
    assert journal.reason.startswith(
        f"health deviated during the method ({len(missed)} of {len(method)} checks missed)"
    )
    worst = max(missed, key=lambda o: float(str(o.details["latency_ms"])))
    assert f"first {missed[0].reason}" in journal.reason and f", worst {worst.reason}" in journal.reason


def test_help_states_the_flow_and_the_game_day_exit_code(cli: Any) -> None:
    text = " ".join(cli("run", "--help").stdout.split())
    assert text.index("revert the faults") < text.index("-> recovery") < text.index("-> rollbacks")
    assert "the most severe of their codes" in text


def test_the_report_plots_probe_latency_and_keeps_labels_whole(tmp_path: Path, http_service: HttpService) -> None:
    from chaoskit.report import render_html

    http_service.state.delay_s = 0.02
    long_name = "the checkout system endpoint answers quickly"
    journal = run(
        tmp_path,
        {
            "title": "no load",
            "steady_state": {
                "strategy": "continuous",
                "frequency": "100ms",
                "probes": [{**health(http_service, status=200), "name": long_name}],
            },
            "method": [marker(duration="500ms")],
            "recovery": {"within": "2s", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.PASSED, journal.reason
    html = render_html(journal)
    panel = html.split('id="panel-probe-latency"')[1].split("</g>")[0]
    points = panel.split('class="series probe-latency" points="')[1].split('"')[0].split()
    assert len(points) == len(journal.observations) >= 5  # one point per observation, as a line
    assert 'class="axis probe-name" x="88" y="' in html and f">{long_name}</text>" in html  # not cut
    assert "No load in this run" in html and "the run stopped before the method" not in html
