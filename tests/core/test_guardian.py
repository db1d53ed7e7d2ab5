"""The dead-man guardian with real processes: a real `chaoskit run` is killed, frozen or interrupted, and its
guardian (a real separate process) reverts the run's fault with no command typed -- or, after a clean end, exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import CHAOSKIT

EXPERIMENT = """\
title: guarded marker
method:
  - fault: testkit.marker
    name: marker
    with: {{path: marker}}
    duration: {duration}
safety: {{guardian: {{heartbeat: 200ms, grace: {grace}}}}}
"""


def guardians(run_id: str) -> list[int]:
    """Live guardian processes of this run (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"chaoskit.run.guardian" in argv and run_id.encode() in argv and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def start(tmp_path: Path, duration: str = "60s", grace: str = "10s") -> tuple[subprocess.Popen[str], str]:
    (tmp_path / "exp.yaml").write_text(EXPERIMENT.format(duration=duration, grace=grace))
    proc = subprocess.Popen(
        [CHAOSKIT, "run", "exp.yaml", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a test can Ctrl-C the whole group
    )
    marker = tmp_path / "marker"
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the fault was never injected"
        time.sleep(0.02)
    return proc, marker.read_text()


def wait_gone(path: Path, timeout: float) -> float:
    t0 = time.monotonic()
    while path.exists():
        assert time.monotonic() - t0 < timeout, f"{path} still exists after {timeout}s"
        time.sleep(0.01)
    return time.monotonic() - t0


def record(tmp_path: Path) -> dict[str, object]:
    """The guardian's record (written just after its reverts)."""
    deadline = time.monotonic() + 10
    while not (found := list(tmp_path.glob("chaoskit-runs/*/guardian.json"))):
        assert time.monotonic() < deadline, "the guardian wrote no record"
        time.sleep(0.02)
    (path,) = found
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_sigkill_runner_guardian_reverts_with_no_command(tmp_path: Path, isolated_state: Path) -> None:
    proc, run_id = start(tmp_path)
    assert len(guardians(run_id)) == 1
    proc.kill()
    proc.wait(timeout=10)
    took = wait_gone(tmp_path / "marker", timeout=5)  # the bound: reverted within 5 s
    assert took < 5
    deadline = time.monotonic() + 10
    while guardians(run_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert guardians(run_id) == []  # the guardian leaves nothing running
    rec = record(tmp_path)
    assert rec["run_id"] == run_id and "ended without finishing" in str(rec["why"])
    assert rec["reverted"] == [f"marker (testkit.marker, run {run_id})"] and rec["failed"] == []
    assert list((isolated_state / "ledger").glob("*")) == []  # the ledger is closed: nothing for rollback


def test_frozen_runner_is_killed_and_its_fault_reverted(tmp_path: Path) -> None:
    proc, _ = start(tmp_path, grace="1s")
    os.kill(proc.pid, signal.SIGSTOP)  # frozen: alive, but no heartbeat
    try:
        wait_gone(tmp_path / "marker", timeout=10)
        assert proc.wait(timeout=10) == -signal.SIGKILL  # killed first, so it cannot inject behind the guardian
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "no heartbeat for 1s" in str(record(tmp_path)["why"])


def test_no_guardian_left_after_a_clean_run(tmp_path: Path) -> None:
    proc, run_id = start(tmp_path, duration="500ms")
    assert guardians(run_id)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert guardians(run_id) == []
    assert list(tmp_path.glob("chaoskit-runs/*/guardian.json")) == []  # it had nothing to do
    assert not (tmp_path / "marker").exists()


def test_ctrl_c_to_the_process_group_leaves_the_guardian_out_of_it(tmp_path: Path) -> None:
    proc, run_id = start(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does; the guardian has its own session
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not (tmp_path / "marker").exists()  # the runner reverted by itself
    assert guardians(run_id) == []
    assert list(tmp_path.glob("chaoskit-runs/*/guardian.json")) == []


KILLED_AT_SPAWN = """\
import os, signal, sys
from pathlib import Path
from chaoskit.ledger import Ledger, LedgerEntry
from chaoskit.run.guardian import Guardian
from chaoskit.run.halt import halt_path

work = Path(sys.argv[1])
ledger = Ledger.create("spawnkill", "killed at spawn", work / "ledger")
ledger.add(LedgerEntry(id="m", plugin="testkit.marker", name="marker", info={"path": str(work / "marker")}))
(work / "marker").write_text("x")
(work / "ledger" / ".spawnkill.toxiproxy.json.tmp").write_text("a first write cut short")
Guardian.start(ledger.path, work / "run", "spawnkill", 0.2, 2.0, halt_path())
os.kill(os.getpid(), signal.SIGKILL)  # before reading the guardian's ready line
"""


def test_a_runner_killed_before_its_guardian_is_up_is_still_guarded(tmp_path: Path) -> None:
    """The guardian is started without waiting; a runner killed at once (its end of the ready pipe closed
    before the guardian wrote to it) is still reverted."""
    child = subprocess.run([sys.executable, "-c", KILLED_AT_SPAWN, str(tmp_path)], capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    wait_gone(tmp_path / "marker", timeout=15)
    deadline = time.monotonic() + 15
    while not (tmp_path / "run" / "guardian.json").exists():
        assert time.monotonic() < deadline, "the guardian wrote no record"
        time.sleep(0.02)
    rec = json.loads((tmp_path / "run" / "guardian.json").read_text())
    assert rec["reverted"] == ["marker (testkit.marker, run spawnkill)"]
    assert rec["removed_temp_files"] == [str(tmp_path / "ledger" / ".spawnkill.toxiproxy.json.tmp")]
    assert list((tmp_path / "ledger").iterdir()) == []


def test_after_a_handoff_the_guardian_leaves_once_the_late_revert_is_done(tmp_path: Path) -> None:
    """An inject that outlives its revert is handed to the guardian; once that inject returns and is reverted
    (the ledger closed) the guardian exits, even though the process that ran the run goes on (pytest here)."""
    from chaoskit import Outcome
    from tests.core.test_runner import run

    step = {"fault": "testkit.marker", "timeout": "300ms", "with": {"path": "marker", "inject_delay": 2}}
    journal = run(tmp_path, {"title": "handoff", "method": [step]})
    assert journal.outcome == Outcome.ERROR and any("still running" in e.message for e in journal.errors)
    assert guardians(journal.run_id)  # handed off: it stays while the late revert is pending
    deadline = time.monotonic() + 20
    while guardians(journal.run_id):
        assert time.monotonic() < deadline, "the guardian stayed after the late revert closed the ledger"
        time.sleep(0.05)
    assert not (tmp_path / "marker").exists()


def test_sigkilled_runner_gets_a_journal_saying_aborted_runner_lost_and_the_report_shows_it(tmp_path: Path) -> None:
    proc, run_id = start(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    wait_gone(tmp_path / "marker", timeout=5)
    rec = record(tmp_path)
    (run_dir,) = tmp_path.glob("chaoskit-runs/*")
    deadline = time.monotonic() + 10
    while not (run_dir / "journal.json").exists():  # written just after guardian.json
        assert time.monotonic() < deadline, "the guardian wrote no journal"
        time.sleep(0.02)
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["run_id"] == run_id and journal["title"] == "guarded marker"
    assert journal["outcome"] == "aborted" and journal["exit_code"] == 3
    assert journal["reason"].startswith("runner lost (the runner (pid ")
    assert f"reverted 1: marker (testkit.marker, run {run_id})" in journal["reason"]
    (fault,) = journal["faults"]
    assert fault["name"] == "marker" and fault["reverted_at"] == rec["finished_at"]
    (error,) = [e for e in journal["errors"] if e["where"] == "guardian"]
    assert error["type"] == "RunnerLost" and "ended without finishing" in error["message"]
    assert (tmp_path / journal["artifacts"]["guardian"]).resolve() == (run_dir / "guardian.json").resolve()
    assert journal["phases"] and journal["phases"][0]["name"] == "method"  # from the journal the runner streamed
    assert not (run_dir / "journal.partial.jsonl").exists()  # all of it is in journal.json
    shown = subprocess.run(
        [CHAOSKIT, "report", str(run_dir), "--markdown"], capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert "aborted" in shown.stdout and "runner lost" in shown.stdout
