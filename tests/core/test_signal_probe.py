"""A signal while a steady-state probe is in flight (the check before any fault, or the recovery check after the
reverts) ends a real `chaoskit run` as interrupted, exit 130 -- never deviated (1) or baseline-not-met (2), also
when the signal cut the probe itself (Ctrl-C reaches the whole process group, so the probe's command dies of it and
its record is a miss). Deterministic: the probe's command writes its pid into a file and then blocks; the test
signals the run only once that file exists, i.e. while the probe is in flight."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CHAOSKIT, wait_for

# The probe passes at once the first time (the baseline) when ``block`` is "recovery"; the call that must block
# writes its pid to ``inflight`` and sleeps (exec: the pid is the sleeper's, and Ctrl-C to the group kills it).
PROBE = """\
if [ "{block}" = recovery ] && [ ! -e baseline-done ]; then touch baseline-done; exit 0; fi
echo $$ > inflight.tmp && mv inflight.tmp inflight
exec sleep 60
"""

EXPERIMENT = """\
title: signal in a probe
steady_state:
  probes:
    - probe: process
      with: {{command: ["sh", "-c", {script}]}}
      expect: {{equals: 0}}
      timeout: 2m
method:
  - fault: testkit.marker
    with: {{path: marker}}
  - pause: 50ms
recovery: {{within: 2m}}
"""


@pytest.mark.parametrize("block", ["baseline", "recovery"])
@pytest.mark.parametrize("how", ["SIGINT", "ctrl-c"])
def test_a_signal_while_a_steady_state_probe_runs_is_an_interruption(tmp_path: Path, block: str, how: str) -> None:
    script = json.dumps(PROBE.format(block=block))
    (tmp_path / "exp.yaml").write_text(EXPERIMENT.format(script=script))
    proc = subprocess.Popen(
        [CHAOSKIT, "run", "exp.yaml", "--json", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it: "ctrl-c" signals the group
    )
    inflight = tmp_path / "inflight"
    sleeper = 0
    try:
        wait_for(
            lambda: proc.poll() is not None or inflight.exists(),
            30,
            f"the {block} probe to be in flight",
            interval=0.01,
        )
        assert proc.poll() is None, proc.communicate()
        sleeper = int(inflight.read_text())
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if sleeper:
            with contextlib.suppress(ProcessLookupError):
                os.kill(sleeper, signal.SIGKILL)  # the probe a plain SIGINT left blocking (its thread is abandoned)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    verdict = json.loads(out)
    assert verdict["outcome"] == "interrupted"
    assert verdict["reason"] == "interrupted by SIGINT (Ctrl-C); faults reverted"
    journal = json.loads((tmp_path / verdict["journal"]).read_text())
    assert journal["exit_code"] == 130
    phases = [p["name"] for p in journal["phases"]]
    assert phases == (["baseline"] if block == "baseline" else ["baseline", "method", "revert", "recovery"])
    if block == "baseline":
        assert journal["faults"] == [] and not (tmp_path / "marker").exists()  # nothing was injected
    else:
        assert [f["reverted_at"] is not None for f in journal["faults"]] == [True]
        assert not (tmp_path / "marker").exists()  # reverted
