"""The game day as library code: run_many() runs several experiments in order and writes every artifact."""

from __future__ import annotations

from pathlib import Path

from chaoskit.model.outcome import Outcome
from chaoskit.run.gameday import run_many
from chaoskit.runner import RunOptions

PASSING = """\
title: passing {n}
method:
  - fault: testkit.marker
    with: {{path: marker{n}}}
    duration: 100ms
"""


def test_run_many_writes_journals_reports_and_the_index(tmp_path: Path) -> None:
    files = [tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"]
    files[0].write_text(PASSING.format(n=0))
    files[1].write_text("title: broken\nmethod: 7\n")
    files[2].write_text(PASSING.format(n=2))
    seen: list[str] = []
    day = run_many(files, RunOptions(out_dir=tmp_path / "runs"), on_result=lambda r: seen.append(r.path.name))
    assert seen == ["a.yaml", "b.yaml", "c.yaml"]
    assert [r.outcome for r in day.results] == [Outcome.PASSED, Outcome.INVALID, Outcome.PASSED]
    assert day.results[1].problems and day.results[1].journal is None
    assert day.exit_code == 5  # the most severe of 0, 5, 0
    for result in (day.results[0], day.results[2]):
        assert result.journal is not None
        assert Path(result.journal.artifacts["journal"]).exists()
        assert Path(result.journal.artifacts["report"]).exists()  # run_many writes each report
    assert day.index == tmp_path / "runs" / "index.html" and day.index.exists()
    assert day.warnings == []


def test_fail_fast_stops_after_the_first_run_that_does_not_pass(tmp_path: Path) -> None:
    files = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    files[0].write_text("title: broken\nmethod: 7\n")
    files[1].write_text(PASSING.format(n=1))
    day = run_many(files, RunOptions(out_dir=tmp_path / "runs"), fail_fast=True)
    assert [r.path.name for r in day.results] == ["a.yaml"] and day.planned == 2
    assert not (tmp_path / "marker1").exists()
