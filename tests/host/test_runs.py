"""The real ``chaoskit`` command with host faults: interrupted by SIGTERM/SIGINT, killed by SIGKILL and
rolled back, and ``--dry-run``. Everything is checked from outside, through /proc and the file system."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.host.host_helpers import Sleepers, chaoskit_cmd, children, gone, journal_of, proc_state, wait_for

FILL_MIB = 50


def write_experiment(tmp_path: Path, sleepers: Sleepers, fill_dir: Path, guardian: bool = True) -> Path:
    """Pause the sleepers, stress CPU (1 worker) and memory (50 MiB), fill 50 MiB; hold for a minute."""
    doc = {
        "title": "host faults held until interrupted",
        "steady_state": {
            "probes": [
                {"probe": "host.process", "with": {"name": sleepers.name}, "expect": {"min": 1}},
            ]
        },
        "method": [
            {
                "fault": "host.pause",
                "with": {"name": sleepers.name, "mode": "all"},
                "duration": "60s",
                "background": True,
            },
            {
                "fault": "host.cpu_stress",
                "with": {"workers": 1, "load_percent": 20, "max_lifetime": "2m"},
                "duration": "60s",
                "background": True,
            },
            {
                "fault": "host.memory_stress",
                "with": {"size_mib": FILL_MIB, "max_lifetime": "2m"},
                "duration": "60s",
                "background": True,
            },
            {
                "fault": "host.disk_fill",
                "with": {"path": str(fill_dir), "size_mib": FILL_MIB, "min_free_mib": 64},
                "duration": "60s",
            },
        ],
        "recovery": {"within": "10s", "interval": "250ms"},
        "safety": {"max_duration": "3m", "guardian": {"enabled": guardian}},
    }
    path = tmp_path / "held.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def fill_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("chaoskit-fill-*.bin"))


def start_run(exp: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [chaoskit_cmd(), "run", str(exp), "--out", str(out), "-q"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_all_injected(run: subprocess.Popen[str], sleepers: Sleepers, fill_dir: Path) -> list[int]:
    """Wait until every fault is in place; return the runner's stress worker pids."""

    def injected() -> bool:
        if run.poll() is not None:
            raise AssertionError(f"the run ended early: {run.returncode} {run.communicate()}")
        files = fill_files(fill_dir)
        return (
            all(proc_state(p) == "T" for p in sleepers.pids)
            and len(workers_of(run.pid)) == 2
            and len(files) == 1
            and files[0].stat().st_size == FILL_MIB * 1024 * 1024
        )

    wait_for(injected, 60, "every fault to be injected")
    return workers_of(run.pid)


def workers_of(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"chaoskit_host.worker" in argv:
            found.append(child)
    return found


def dry_run(exp: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chaoskit_cmd(), "run", str(exp), "--dry-run", "--out", str(out)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_resumes_stops_and_removes_everything(
    sig: signal.Signals, sleepers: Sleepers, tmp_path: Path, isolated_state: Path
) -> None:
    sleepers.start(2)
    fill_dir = tmp_path / "fill"
    fill_dir.mkdir()
    run = start_run(write_experiment(tmp_path, sleepers, fill_dir), tmp_path / "runs")
    workers = wait_all_injected(run, sleepers, fill_dir)
    run.send_signal(sig)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    journal = journal_of(tmp_path / "runs")
    assert journal["outcome"] == "interrupted"
    assert sig.name in str(journal["reason"]) or "Ctrl-C" in str(journal["reason"])
    faults = journal["faults"]
    assert isinstance(faults, list) and len(faults) == 4
    assert all(f["reverted_at"] and not f["revert_error"] for f in faults)
    # From outside: resumed, stopped, removed.
    assert {proc_state(p) for p in sleepers.pids} <= {"S", "R"}
    assert all(gone(w) for w in workers)
    assert fill_files(fill_dir) == []
    assert list((isolated_state / "ledger").glob("*.json")) == []  # nothing left to roll back


def test_sigkilled_run_is_rolled_back(sleepers: Sleepers, tmp_path: Path, isolated_state: Path) -> None:
    sleepers.start(2)
    fill_dir = tmp_path / "fill"
    fill_dir.mkdir()
    # No guardian: this is the case a person recovers from with `chaoskit rollback`.
    run = start_run(write_experiment(tmp_path, sleepers, fill_dir, guardian=False), tmp_path / "runs")
    workers = wait_all_injected(run, sleepers, fill_dir)
    run.kill()
    run.communicate(timeout=30)
    # The runner is gone and reverted nothing: the sleepers stay frozen and the fill file stays.
    assert {proc_state(p) for p in sleepers.pids} == {"T"}
    assert len(fill_files(fill_dir)) == 1
    # Stress workers notice that chaoskit is gone and exit on their own.
    wait_for(lambda: all(gone(w) for w in workers), 15, "orphaned stress workers to exit")
    assert {proc_state(p) for p in sleepers.pids} == {"T"}
    ledger = list((isolated_state / "ledger").glob("*.json"))
    assert len(ledger) == 1

    first = subprocess.run([chaoskit_cmd(), "rollback"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("reverted") == 4
    assert {proc_state(p) for p in sleepers.pids} <= {"S", "R"}
    assert fill_files(fill_dir) == []
    assert not ledger[0].exists()

    second = subprocess.run([chaoskit_cmd(), "rollback"], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "nothing to roll back" in second.stderr
    assert {proc_state(p) for p in sleepers.pids} <= {"S", "R"}


def test_dry_run_lists_the_targets_and_touches_nothing(sleepers: Sleepers, tmp_path: Path) -> None:
    (pid,) = sleepers.start(1)
    doc = {
        "title": "dry kill",
        "method": [{"fault": "host.kill", "with": {"name": sleepers.name}}],
    }
    exp = tmp_path / "kill.yaml"
    exp.write_text(yaml.safe_dump(doc))
    result = dry_run(exp, tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    line = f"would inject host.kill: SIGKILL to 1 of 1 matching process(es): pid {pid} ({sleepers.link} 300)"
    assert line in result.stderr
    journal = journal_of(tmp_path / "runs")
    (fault,) = journal["faults"]  # type: ignore[misc]
    assert fault["target"] == line.removeprefix("would inject host.kill: ")
    (target,) = fault["revert_info"]["targets"]
    assert target["pid"] == pid and target["cmdline"] == f"{sleepers.link} 300" and target["starttime"] > 0
    assert proc_state(pid) in ("S", "R")


def test_dry_run_that_matches_nothing_says_what_it_searched(tmp_path: Path) -> None:
    doc = {"title": "dry pause", "method": [{"fault": "host.pause", "with": {"cmdline": "no-such-thing-[0-9]{9}"}}]}
    exp = tmp_path / "pause.yaml"
    exp.write_text(yaml.safe_dump(doc))
    result = dry_run(exp, tmp_path / "runs")
    assert result.returncode == 6  # a preflight problem of `run --dry-run`
    assert "method[0].with: no process matches cmdline='no-such-thing-[0-9]{9}'" in result.stderr
