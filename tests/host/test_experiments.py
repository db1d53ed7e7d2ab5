"""The ready experiments in experiments/ (host plugin): valid as shipped, and they run against a real service."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from pathlib import Path

from chaoskit_host.targets import Selector, matches

from chaoskit.plugin import Context
from tests.host.host_helpers import SERVER, ServerProcess, chaoskit_cmd, journal_of, serving, wait_for

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chaoskit_cmd(), *args], capture_output=True, text=True, timeout=180)


def test_host_experiments_are_valid() -> None:
    files = [str(EXPERIMENTS / name) for name in ("process-crash.yaml", "cpu-pressure.yaml")]
    result = run("validate", *files)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("is valid") == 2


def test_process_crash_kills_the_server_and_the_restart_brings_it_back(server: ServerProcess, tmp_path: Path) -> None:
    log = tmp_path / "restarted.log"
    start = f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVER))} {server.port} >{log} 2>&1 &"
    result = run(
        "run",
        str(EXPERIMENTS / "process-crash.yaml"),
        "--var", f"service_port={server.port}",
        "--var", f"restart_command=sh -c {shlex.quote(start)}",
        "--out", str(tmp_path / "runs"),
    )  # fmt: skip
    try:
        assert server.proc.wait(timeout=10) == -signal.SIGKILL  # the original process was killed
        assert result.returncode == 0, result.stderr
        journal = journal_of(tmp_path / "runs")
        assert journal["outcome"] == "passed"
        (fault,) = journal["faults"]  # type: ignore[misc]
        killed = fault["revert_info"]["killed"]
        assert [k["pid"] for k in killed] == [server.proc.pid] and "server.py" in killed[0]["cmdline"]
        assert fault["revert_info"]["restart"]["exit_code"] == 0
        # a kill is not "reverted": the terminal says what happened instead
        assert f"not revertible; killed pid {server.proc.pid}; restarted at +" in result.stderr, result.stderr
        assert "↺ reverted" not in result.stderr
        assert serving(server.port)
    finally:  # stop the restarted server (not our child: the restart command started it)
        restarted, _ = matches(Selector(port=server.port), Context())
        for proc in restarted:
            subprocess.run(["kill", "-9", str(proc.pid)], check=False)
        wait_for(lambda: not serving(server.port), 15, "the restarted server to stop")


def test_cpu_pressure_runs_tiny_and_leaves_no_worker(server: ServerProcess, tmp_path: Path) -> None:
    result = run(
        "run",
        str(EXPERIMENTS / "cpu-pressure.yaml"),
        "--var", f"service_url={server.url}",
        "--var", "cpu_workers=1",
        "--var", "load_percent=50",
        "--var", "stress_duration=1500ms",
        "--var", "latency_budget_ms=3000",
        "--out", str(tmp_path / "runs"),
    )  # fmt: skip
    journal = journal_of(tmp_path / "runs")
    assert result.returncode == 0, (result.stderr, journal["reason"])
    assert journal["outcome"] == "passed"
    (fault,) = journal["faults"]  # type: ignore[misc]
    (worker,) = fault["revert_info"]["workers"]
    assert fault["reverted_at"] is not None
    assert not Path(f"/proc/{worker['pid']}").exists() or "chaoskit_host.worker" not in Path(
        f"/proc/{worker['pid']}/cmdline"
    ).read_bytes().decode(errors="replace")
    during = [o for o in journal["observations"] if o["phase"] == "method"]  # type: ignore[attr-defined]
    assert during, "continuous steady state: the service was probed while the CPU was busy"
