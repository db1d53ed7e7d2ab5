"""The kill switch with real processes: two live `chaoskit run`s are halted at once; a new run is refused
(exit 3, naming who halted and when) until the halt is released."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from chaoskit.run import halt
from tests.conftest import CHAOSKIT, run_cli

EXPERIMENT = """\
title: halt me {n}
method:
  - fault: testkit.marker
    name: marker
    with: {{path: marker{n}}}
    duration: 60s
"""


def start(tmp_path: Path, n: int) -> subprocess.Popen[str]:
    (tmp_path / f"exp{n}.yaml").write_text(EXPERIMENT.format(n=n))
    return subprocess.Popen(
        [CHAOSKIT, "run", f"exp{n}.yaml", "--json", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_injected(tmp_path: Path, procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"marker{n}").exists() for n in range(len(procs))):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
        assert time.monotonic() < deadline, "the faults were never injected"
        time.sleep(0.02)


def test_halt_stops_two_live_runs_and_refuses_a_new_one_until_released(tmp_path: Path) -> None:
    procs = [start(tmp_path, 0), start(tmp_path, 1)]
    try:
        wait_injected(tmp_path, procs)
        live = halt.live_runs()
        assert sorted(r.pid for r in live) == sorted(p.pid for p in procs)
        status = run_cli("halt", "--status")
        assert status.returncode == 0 and "not halted" in status.stderr and status.stderr.count("live: run") == 2

        halted = run_cli("halt", "--reason", "db migration in progress")
        assert halted.returncode == 0, halted.stderr
        assert halted.stderr.count("stopping run") == 2 and halted.stderr.count("stopped (journal under") == 2
        for n, proc in enumerate(procs):
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 3, err
            verdict = json.loads(out)
            assert verdict["outcome"] == "aborted"
            assert verdict["reason"].startswith("halted: db migration in progress (by ")
            assert not (tmp_path / f"marker{n}").exists()  # reverted
        assert halt.live_runs() == []
        state = halt.current()
        assert state is not None and state.reason == "db migration in progress"

        refused = run_cli("run", "exp0.yaml", "--json", "-q", cwd=tmp_path)
        assert refused.returncode == 3, refused.stderr
        reason = json.loads(refused.stdout)["reason"]
        assert f"refused to start: chaoskit is halted by {state.by} at " in reason
        assert time.strftime("%Y-%m-%d %H:%M", time.gmtime(state.at)) in reason and "halt --release" in reason
        assert not (tmp_path / "marker0").exists()  # nothing was injected

        released = run_cli("halt", "--release")
        assert released.returncode == 0 and "released the halt by" in released.stderr
        assert halt.current() is None
        (tmp_path / "quick.yaml").write_text(EXPERIMENT.format(n=0).replace("60s", "200ms"))
        again = run_cli("run", "quick.yaml", "--json", "-q", cwd=tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_python_api_halt_and_release(tmp_path: Path) -> None:
    proc = start(tmp_path, 0)
    try:
        wait_injected(tmp_path, [proc])
        live = halt.live_runs()
        state = halt.halt("from CI", by="ci-job-42")
        assert halt.wait_stopped(live, timeout=30) == []
        out, _ = proc.communicate(timeout=30)
        assert json.loads(out)["reason"].startswith("halted: from CI (by ci-job-42 at ")
        assert halt.release() == state and halt.current() is None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_plain_file_halts_too(tmp_path: Path, isolated_state: Path) -> None:
    """Automation may just create the halt file; the reason then says so."""
    halt.halt_path().touch()
    (tmp_path / "exp0.yaml").write_text(EXPERIMENT.format(n=0))
    refused = run_cli("run", "exp0.yaml", "--json", "-q", cwd=tmp_path)
    assert refused.returncode == 3
    assert f"halt file {isolated_state / 'halt'} present" in json.loads(refused.stdout)["reason"]
    assert halt.release() is not None and halt.current() is None
