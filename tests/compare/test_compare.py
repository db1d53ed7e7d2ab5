"""The regression gate on real runs: a real HTTP service under real Locust load, a fault that slows it down.
A baseline of three runs; an unchanged service compared with it passes; a service that got slower under the
same fault (the "regression": say, retries removed) is flagged on the fault window's latency, in the right
direction; another experiment is "not comparable" (exit 7); history shows the trend."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from chaoskit.compare.rules import compare_runs, resolve
from chaoskit.compare.summary import load_runs, save_baseline, summarize
from chaoskit.model.base import StrictModel
from chaoskit.model.journal import Journal, Outcome
from chaoskit.plugin import Context, Fault
from chaoskit.pytest_plugin.result import ChaosResult
from tests.conftest import HttpService, run_cli
from tests.load.loadkit import run_doc, write_locustfile


class SlowParams(StrictModel):
    delay_ms: int


def slow_fault(service: HttpService) -> type[Fault[SlowParams]]:
    class SlowFault(Fault[SlowParams]):
        """Make the test service slow."""

        Params = SlowParams

        def plan(self, params: SlowParams, ctx: Context) -> dict[str, Any]:
            return {}

        def inject(self, params: SlowParams, info: dict[str, Any], ctx: Context) -> None:
            service.state.delay_s = params.delay_ms / 1000

        def revert(self, info: dict[str, Any], ctx: Context) -> None:
            service.state.delay_s = 0.0

    return SlowFault


def one_run(
    tmp_path: Path, service: HttpService, delay_ms: int, title: str = "checkout under a slow dependency"
) -> Journal:
    folder = tmp_path / f"run-{time.monotonic_ns()}"
    folder.mkdir()
    write_locustfile(folder)
    doc = {
        "title": title,
        "load": {"locustfile": "locustfile.py", "host": service.url, "users": 4, "spawn_rate": 40, "warmup": "2s"},
        "method": [{"fault": "test.slow", "with": {"delay_ms": delay_ms}, "duration": "3s"}],
        "recovery": {"within": "10s", "interval": "500ms"},
        "regression": {"thresholds": {"p95_ms": {"relative": 0.5, "absolute": 30}}},
    }
    journal = run_doc(doc, folder, faults={"test.slow": slow_fault(service)})
    assert journal.outcome is Outcome.PASSED, (journal.reason, journal.errors)
    return journal


@pytest.fixture
def baseline(tmp_path: Path, http_service: HttpService) -> Path:
    runs = [summarize(one_run(tmp_path, http_service, delay_ms=50)) for _ in range(3)]
    written = save_baseline(runs, tmp_path / "baselines")
    assert [p.name for p in written] == ["checkout-under-a-slow-dependency.baseline.json"]
    return tmp_path / "baselines"


def test_unchanged_passes_and_a_slower_service_is_flagged(
    tmp_path: Path, http_service: HttpService, baseline: Path
) -> None:
    stored = load_runs(baseline)
    assert len(stored) == 3
    fault_p95 = "fault test.slow.p95_ms"
    assert all((r.metrics[fault_p95] or 0) >= 45 for r in stored)  # the fault is really in the data
    rules = resolve([{"thresholds": {"p95_ms": {"relative": 0.5, "absolute": 30}}}])

    same = one_run(tmp_path, http_service, delay_ms=50)
    verdict = compare_runs(stored, summarize(same), rules)
    assert not verdict.regressed, [f for f in verdict.findings if f.regression]

    slower = one_run(tmp_path, http_service, delay_ms=250)
    verdict = compare_runs(stored, summarize(slower), rules)
    flagged = {f.metric: f for f in verdict.findings if f.regression}
    assert fault_p95 in flagged, verdict.findings
    finding = flagged[fault_p95]
    assert finding.current is not None and finding.baseline is not None and finding.current > finding.baseline + 150
    assert not any(m.startswith("before the fault") for m in flagged)  # only the fault window got worse

    # the pytest API: the experiment's own regression: block applies
    ChaosResult(same).assert_no_regression(baseline)
    with pytest.raises(pytest.fail.Exception, match=r"fault test\.slow\.p95_ms .*REGRESSION"):
        ChaosResult(slower).assert_no_regression(baseline)

    # the CLI on the same files: exit 1, the metric named, JSON says which direction
    current = Path(slower.artifacts["journal"]).parent
    result = run_cli(
        "compare",
        str(baseline),
        str(current),
        "--json",
        "--html",
        str(tmp_path / "cmp.html"),
        "--summary-md",
        str(tmp_path / "cmp.md"),
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    found = next(f for f in data["experiments"][0]["findings"] if f["metric"] == fault_p95)
    assert found["regression"] and found["delta"] > 150
    assert "fault test.slow.p95_ms" in (tmp_path / "cmp.md").read_text()
    page = (tmp_path / "cmp.html").read_text()
    assert page.count('class="base"') == 3 and page.count('class="cur"') == 3  # three panels overlaid
    ok = run_cli("compare", str(baseline), str(Path(same.artifacts["journal"]).parent))
    assert ok.returncode == 0, ok.stderr

    # flags win over the experiment's regression: block: latency and throughput allowed to double, no regression
    loose = ["--threshold", "p50_ms=1000%", "--threshold", "p95_ms=1000%", "--threshold", "p99_ms=1000%"]
    loose += ["--threshold", "rps=100%", "--threshold", "score=100", "--json"]
    result = run_cli("compare", str(baseline), str(current), *loose)
    flagged_now = [f["metric"] for f in json.loads(result.stdout)["experiments"][0]["findings"] if f["regression"]]
    assert result.returncode == 0, flagged_now


def test_not_comparable_and_history(tmp_path: Path, http_service: HttpService, baseline: Path) -> None:
    other = one_run(tmp_path, http_service, delay_ms=50, title="another experiment")
    result = run_cli("compare", str(baseline), str(Path(other.artifacts["journal"]).parent))
    assert result.returncode == 7, (result.stdout, result.stderr)
    assert "'another experiment' has no baseline" in result.stderr
    # outputs: a new folder is created; one that cannot be written is exit 4 with the path (a traceback's exit 1
    # would read as "regression" in CI)
    other_dir = str(Path(other.artifacts["journal"]).parent)
    nested = tmp_path / "out" / "deeper" / "compare.md"
    assert run_cli("compare", str(baseline), other_dir, "--summary-md", str(nested)).returncode == 7
    assert "has no baseline" in nested.read_text()
    (tmp_path / "a-file").write_text("")
    blocked = run_cli("compare", str(baseline), other_dir, "--html", str(tmp_path / "a-file" / "c.html"))
    assert blocked.returncode == 4, blocked.stderr
    assert f"cannot write {tmp_path / 'a-file' / 'c.html'}" in blocked.stderr and "Traceback" not in blocked.stderr

    more = [one_run(tmp_path, http_service, delay_ms=d) for d in (50, 400)]
    save_baseline([summarize(j) for j in more], baseline, append=True)
    assert len(load_runs(baseline)) == 5
    result = run_cli("history", str(baseline), "--json", "--html", str(tmp_path / "history.html"))
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)["checkout under a slow dependency"]
    assert len(runs) == 5 and runs == sorted(runs, key=lambda r: r["started_at"])
    p95 = [r["fault p95_ms"] for r in runs]
    assert p95[-1] > max(p95[:4]) + 150  # the trend shows the slower last run
    assert (tmp_path / "history.html").read_text().count("<svg") >= 2


def test_threshold_flags_and_blocks_are_checked(tmp_path: Path) -> None:
    from chaoskit.errors import ValidationFailed
    from chaoskit.loader import validate_document

    bad = run_cli("compare", str(tmp_path), str(tmp_path), "--threshold", "p96_ms=5%")
    assert bad.returncode == 4 and "expected FAMILY=VALUE" in bad.stderr
    doc = {"title": "t", "method": [{"pause": "1s"}], "regression": {"thresholds": {"p95": {"relative": 0.1}}}}
    with pytest.raises(ValidationFailed, match="unknown metric family p95"):
        validate_document(doc)
