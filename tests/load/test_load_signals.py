"""The real CLI with real Locust load: SIGTERM stops the child; Ctrl-C (SIGINT to the whole process group, as a
terminal sends it) stops it without a traceback; SIGKILL of the runner takes the child along."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.load.loadkit import child_pids, no_children_left, wait_until, write_locustfile

CHAOSKIT = str(Path(sys.executable).with_name("chaoskit"))


def _start(tmp_path: Path, service: Any, new_session: bool = False) -> subprocess.Popen[str]:
    write_locustfile(tmp_path)
    doc = {
        "title": "long load",
        "load": {"locustfile": "locustfile.py", "host": service.url, "users": 3, "spawn_rate": 30},
        "method": [{"pause": "2m"}],
        "safety": {"max_duration": "3m"},
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(doc))
    proc = subprocess.Popen(
        [CHAOSKIT, "run", "exp.yaml", "--out", "runs"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=new_session,
    )
    hits = service.state.hits
    assert wait_until(lambda: service.state.hits > hits + 20 or proc.poll() is not None, 90), "no load arrived"
    assert proc.poll() is None, proc.communicate()[0]
    assert child_pids(str(tmp_path)), "the locust child is not running"
    return proc


@pytest.mark.slow
def test_sigterm_stops_the_child(tmp_path: Path, http_service: Any) -> None:
    proc = _start(tmp_path, http_service)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert no_children_left(str(tmp_path), timeout=5) == []
    journal = json.loads(next((tmp_path / "runs").glob("*/journal.json")).read_text())
    assert journal["outcome"] == "interrupted"
    # the load's series is in the journal (the stats of the last moments before the signal may not have reached
    # the runner yet, so the count can trail the service's own: only "some" is a promise)
    assert journal["load"]["total"]["requests"] > 0 and journal["load"]["series"]


@pytest.mark.slow
def test_ctrl_c_stops_the_child_without_a_traceback(tmp_path: Path, http_service: Any) -> None:
    proc = _start(tmp_path, http_service, new_session=True)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the runner AND its load child get it
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "interrupted by SIGINT" in out, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert "error in stopping the load" not in out, out
    assert no_children_left(str(tmp_path), timeout=5) == []
    journal = json.loads(next((tmp_path / "runs").glob("*/journal.json")).read_text())
    assert journal["outcome"] == "interrupted"
    assert journal["load"]["total"]["requests"] > 0


@pytest.mark.slow
def test_sigkill_of_the_runner_takes_the_child_along(tmp_path: Path, http_service: Any) -> None:
    proc = _start(tmp_path, http_service)
    children = child_pids(str(tmp_path))
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert no_children_left(str(tmp_path), timeout=15) == [], f"orphaned locust children: {children}"
