"""`chaoskit run` writes the HTML report and Markdown summaries; `chaoskit report` rebuilds them (real CLI)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from tests.conftest import HttpService

CLI = Callable[..., CompletedProcess[str]]


def _experiment(path: Path, url: str, max_ms: int = 500) -> Path:
    path.write_text(
        f"""
title: health stays fast
steady_state:
  probes:
    - name: health
      probe: http
      with: {{url: "{url}/health", timeout: 2s}}
      expect: {{status: 200, latency_ms: {{max: {max_ms}}}}}
method:
  - pause: 200ms
recovery: {{within: 2s, interval: 100ms}}
""",
        encoding="utf-8",
    )
    return path


def test_run_writes_report_and_markdown_summaries(cli: CLI, http_service: HttpService, tmp_path: Path) -> None:
    exp = _experiment(tmp_path / "exp.yaml", http_service.url)
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    result = cli(
        "run",
        str(exp),
        "--out",
        str(tmp_path / "runs"),
        "--json",
        "--summary-md",
        str(tmp_path / "sum.md"),
        env={"GITHUB_STEP_SUMMARY": str(step_summary)},
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    report = Path(verdict["report"])
    assert report.name == "report.html" and report.parent == Path(verdict["journal"]).parent
    journal = json.loads(Path(verdict["journal"]).read_text())
    assert journal["artifacts"]["report"] == str(report)
    assert 'id="timeline"' in report.read_text()
    assert f"report:  {report}" in result.stderr
    md = (tmp_path / "sum.md").read_text()
    assert md.startswith("### ✅ health stays fast: passed")
    link = f"| [health stays fast](<{report.relative_to(tmp_path)}>) | ✅ passed | 100 |"  # relative to sum.md
    assert link in md and f"Report: [report.html](<{report.relative_to(tmp_path)}>)" in md
    appended = step_summary.read_text()
    assert appended.startswith("earlier step\n") and "### ✅ health stays fast: passed" in appended


def test_game_day_summary_table_and_markdown(cli: CLI, http_service: HttpService, tmp_path: Path) -> None:
    folder = tmp_path / "gameday"
    folder.mkdir()
    _experiment(folder / "a-fast.yaml", http_service.url)
    _experiment(folder / "b-impossible.yaml", http_service.url, max_ms=0)  # 0 ms: the baseline cannot hold
    result = cli("run", str(folder), "--out", str(tmp_path / "runs"), "--summary-md", str(tmp_path / "sum.md"))
    assert result.returncode == 2, result.stderr
    assert "game day: 2 of 2 experiments run" in result.stderr
    for column in ("outcome", "score", "TTR", "finding"):
        assert column in result.stderr
    md = (tmp_path / "sum.md").read_text()
    assert "2 experiment(s): 1 passed, 1 baseline-not-met" in md
    assert re.search(r"\| \[a-fast\]\(<runs/[^>]+/report\.html>\) \| ✅ passed \| 100 \|", md), md
    assert re.search(r"\| \[b-impossible\]\(<runs/[^>]+/report\.html>\) \| ⏸️ baseline-not-met \| - \|", md), md
    assert "All reports: [index.html](<runs/index.html>)" in md and "the most severe of its experiments' codes" in md


def test_report_command(cli: CLI, http_service: HttpService, tmp_path: Path) -> None:
    exp = _experiment(tmp_path / "exp.yaml", http_service.url)
    verdict = json.loads(cli("run", str(exp), "--out", str(tmp_path / "runs"), "--json", "-q").stdout)
    run_dir = Path(verdict["journal"]).parent
    (run_dir / "report.html").unlink()
    result = cli("report", str(run_dir))  # a run folder works as well as its journal.json
    assert result.returncode == 0, result.stderr
    assert (run_dir / "report.html").exists() and "wrote" in result.stderr
    other = tmp_path / "elsewhere" / "r.html"
    assert cli("report", verdict["journal"], "-o", str(other)).returncode == 0
    assert "health stays fast" in other.read_text()
    md = cli("report", verdict["journal"], "--markdown")
    assert md.returncode == 0 and md.stdout.startswith("### ✅ health stays fast: passed")


def test_report_of_something_else_is_a_usage_error(cli: CLI, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.json"
    bogus.write_text('{"hello": 1}')
    result = cli("report", str(bogus))
    assert result.returncode == 64
    assert f"{bogus} is not a chaoskit journal" in result.stderr
    assert cli("report", str(tmp_path / "missing.json")).returncode == 64
