"""Observations stream to ``journal.partial.jsonl`` while the run goes (chaoskit/journalfile.py): memory keeps only
the first few, ``journal.json`` comes out whole at the end, and a SIGKILLed run leaves a journal that
``chaoskit report`` renders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from chaoskit import journalfile
from chaoskit.hooks import hookimpl
from chaoskit.journalfile import PARTIAL, read_journal
from chaoskit.loader import validate_document
from chaoskit.model.journal import Journal, ObservationRecord
from chaoskit.runner import Runner, RunOptions
from tests.conftest import CHAOSKIT, HttpService


def _continuous(url: str, pause: str, frequency: str = "20ms") -> dict[str, Any]:
    return {
        "title": "streamed",
        "steady_state": {
            "strategy": "continuous",
            "frequency": frequency,
            "probes": [{"name": "api", "probe": "http", "with": {"url": url}, "expect": {"status": 200}}],
        },
        "method": [{"pause": pause}],
    }


class _Watch:
    """Sees, after each probe, how many observations the run holds in memory and how many are on disk."""

    def __init__(self) -> None:
        self.runner: Runner | None = None
        self.in_memory: list[int] = []
        self.on_disk: list[int] = []

    @hookimpl
    def chaoskit_activity_finished(self, kind: str, record: Any) -> None:
        if kind != "probe" or self.runner is None:
            return
        sink = self.runner.observations
        self.in_memory.append(len(sink.kept) + len(self.runner.journal.observations))
        assert sink.path is not None
        self.on_disk.append(sink.path.read_text().count('{"observation"'))


def test_observations_stream_to_disk_and_the_journal_is_whole(
    tmp_path: Path, http_service: HttpService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journalfile, "KEEP", 5)
    watch = _Watch()
    loaded = validate_document(_continuous(http_service.url, "1s"), source=str(tmp_path / "exp.yaml"))
    runner = Runner(loaded, RunOptions(run_dir=tmp_path / "run", handle_signals=False, hooks=[watch]))
    watch.runner = runner
    journal = runner.run()
    assert journal.outcome is not None and journal.outcome.value == "passed", journal.reason
    seen = len(watch.on_disk)
    assert seen >= 20, seen  # baseline, ~1 s of continuous probes at 20 ms, recovery
    assert max(watch.in_memory) == 5  # memory holds the first KEEP; the rest is only on disk
    assert watch.on_disk == list(range(1, seen + 1))  # each observation is on disk when its hooks run
    on_file = Journal.model_validate_json((tmp_path / "run" / "journal.json").read_bytes())
    assert len(on_file.observations) == len(journal.observations) == seen <= http_service.state.hits
    assert on_file.observations == journal.observations
    starts = [o.started_at for o in on_file.observations]
    assert starts == sorted(starts)
    assert on_file.observations[0].phase == "baseline" and on_file.observations[-1].phase == "recovery"
    assert not (tmp_path / "run" / PARTIAL).exists()  # assembled into journal.json, then removed


def test_a_short_run_never_reads_its_stream_back(tmp_path: Path, http_service: HttpService) -> None:
    loaded = validate_document(_continuous(http_service.url, "0.3s"), source=str(tmp_path / "exp.yaml"))
    runner = Runner(loaded, RunOptions(run_dir=tmp_path / "run", handle_signals=False))
    journal = runner.run()
    assert runner.observations.count == len(journal.observations) == len(runner.observations.kept) > 3
    assert all(a is b for a, b in zip(journal.observations, runner.observations.kept, strict=True))


def test_secrets_never_reach_the_stream(tmp_path: Path, http_service: HttpService) -> None:
    """The partial file is an output like the journal: a probe whose value is a secret is hidden there too."""
    doc = _continuous(http_service.url, "0.3s")
    doc["steady_state"]["probes"].append(
        {
            "name": "echo",
            "probe": "python",
            "with": {"function": "json:dumps", "args": ["${token}"]},
            "expect": {"regex": "s3cr3t"},
        }
    )
    doc["secrets"] = {"token": "s3cr3t-stream-value"}
    seen: list[str] = []

    class Peek:
        @hookimpl
        def chaoskit_phase_finished(self, phase: str) -> None:
            partial = tmp_path / "run" / PARTIAL
            if phase == "method" and partial.exists():
                seen.append(partial.read_text())

    loaded = validate_document(doc, source=str(tmp_path / "exp.yaml"))
    Runner(loaded, RunOptions(run_dir=tmp_path / "run", handle_signals=False, hooks=[Peek()])).run()
    assert seen and '{"observation"' in seen[0]
    assert "s3cr3t-stream-value" not in seen[0]
    assert "s3cr3t-stream-value" not in (tmp_path / "run" / "journal.json").read_text()


def test_a_sigkilled_run_leaves_a_journal_that_report_renders(tmp_path: Path, http_service: HttpService) -> None:
    doc = _continuous(http_service.url, "60s", frequency="50ms")
    doc["tracing"] = {"enabled": True}
    exp = tmp_path / "exp.json"
    exp.write_text(json.dumps(doc))
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [CHAOSKIT, "run", str(exp), "--out", str(runs), "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        partial: Path | None = None
        while time.monotonic() < deadline:
            found = list(runs.glob(f"*/{PARTIAL}"))
            if found and found[0].read_text().count('{"observation"') >= 20:
                partial = found[0]
                break
            time.sleep(0.1)
        assert partial is not None, f"no observations streamed under {runs} within 60 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    run_dir = partial.parent
    assert not (run_dir / "journal.json").exists()
    journal = read_journal(run_dir)
    assert journal.outcome is None and "did not finish" in journal.reason
    assert len(journal.observations) >= 20 and all(o.ok for o in journal.observations)
    assert [p.name for p in journal.phases] == ["baseline", "method"] and journal.phases[-1].ended_at is None
    assert journal.trace_id is not None and len(journal.trace_id) == 32
    spans = [json.loads(line) for line in (run_dir / "trace.partial.jsonl").read_text().splitlines()[:-1]]
    assert sum(1 for s in spans if "span" in s) >= 20  # the trace's spans are on disk too
    done = subprocess.run([CHAOSKIT, "report", str(run_dir)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    html = (run_dir / "report.html").read_text()
    assert "did not finish" in html and "streamed" in html
    markdown = subprocess.run(
        [CHAOSKIT, "report", str(run_dir), "--markdown"], capture_output=True, text=True, timeout=120
    )
    assert markdown.returncode == 0 and "streamed" in markdown.stdout, markdown.stderr


def test_a_cut_last_line_is_skipped(tmp_path: Path) -> None:
    head = {"run_id": "r1", "chaoskit_version": "0", "title": "cut", "experiment": {}, "started_at": 1.0}
    record = ObservationRecord(probe="p", plugin="http", phase="method", started_at=2.0, duration_s=0.1, ok=True)
    text = json.dumps({"head": head}) + "\n" + json.dumps({"observation": record.model_dump(mode="json")}) + "\n"
    path = tmp_path / PARTIAL
    path.write_text(text + text.splitlines()[1][:25])  # the kill came in the middle of a line
    journal = read_journal(tmp_path)
    assert journal.title == "cut" and journal.observations == [record] and journal.outcome is None


def test_a_stream_without_its_head_is_not_a_journal(tmp_path: Path, cli: Any) -> None:
    (tmp_path / PARTIAL).write_text('{"observation": {"probe": "p"}}\n')
    done = cli("report", str(tmp_path))
    assert done.returncode == 64 and PARTIAL in done.stderr and "no journal head" in done.stderr


def test_activities_stream_once_and_a_partial_journal_has_them(tmp_path: Path) -> None:
    """Each finished action is one line of its own (a snapshot carries only those still running), and a partial
    journal read at any point has every activity so far, in the order they started."""
    doc = {
        "title": "actions",
        "steady_state": {"strategy": "skip"},
        "method": [
            {"name": "slow", "action": "python", "with": {"function": "time:sleep", "args": [0.4]}, "background": True},
            *({"name": f"a{i}", "action": "python", "with": {"function": "json:dumps", "args": [i]}} for i in range(3)),
            {"name": "held", "fault": "testkit.marker", "with": {"path": str(tmp_path / "marker")}, "duration": "0.1s"},
        ],
    }
    partials: list[Journal] = []

    class Peek:
        @hookimpl
        def chaoskit_fault_injected(self) -> None:  # the slow background action is still running
            partials.append(read_journal(tmp_path / "run"))

        @hookimpl
        def chaoskit_phase_finished(self, phase: str) -> None:
            if phase == "method":
                partials.append(read_journal(tmp_path / "run"))

    loaded = validate_document(doc, source=str(tmp_path / "exp.yaml"))
    journal = Runner(loaded, RunOptions(run_dir=tmp_path / "run", handle_signals=False, hooks=[Peek()])).run()
    assert journal.outcome is not None and journal.outcome.value == "passed", journal.reason
    during, after = partials
    assert [a.name for a in during.activities] == ["slow", "a0", "a1", "a2"]
    assert during.activities[0].ended_at is None and all(a.ended_at for a in during.activities[1:])
    assert [a.model_dump() for a in after.activities] == [a.model_dump() for a in journal.activities]
    assert [a.result for a in after.activities] == [None, "0", "1", "2"]


def test_a_partial_journal_of_the_older_form_keeps_its_activities(tmp_path: Path) -> None:
    """Files written before activities had lines of their own: every activity is in the last snapshot."""
    head = {"run_id": "r1", "chaoskit_version": "0", "title": "old", "experiment": {}, "started_at": 1.0}
    acts = [{"name": f"a{i}", "plugin": "python", "phase": "method", "started_at": 2.0 + i} for i in range(2)]
    lines = [{"head": head}, {"state": {"phases": [], "activities": acts}}]
    (tmp_path / PARTIAL).write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert [a.name for a in read_journal(tmp_path).activities] == ["a0", "a1"]
