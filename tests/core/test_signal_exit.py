"""A signal while the `chaoskit run` process is exiting (verdict given, journal written, the interpreter
finalising) leaves the verdict's exit code alone. Python puts the default action back for handled signals once its
exit handlers have run, so such a signal used to kill the process (-2/-15: 130/143 in a shell, "interrupted")
after a run that passed. Deterministic: the real CLI runs in a Python process whose ``__main__`` holds an object
that signals its own process when the interpreter destroys it, i.e. in that last instant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXPERIMENT = """\
title: exit
method:
  - fault: testkit.marker
    with: {path: marker}
    duration: 50ms
"""

SCRIPT = """\
import os, signal, sys, time

class Late:
    def __del__(self):  # the interpreter destroys it while finalising, after every exit handler
        os.kill(os.getpid(), signal.{sig})
        time.sleep(0.3)  # the signal is delivered meanwhile

late = Late()
sys.argv = ["chaoskit", "run", "exp.yaml", "--json", "-q"]
from chaoskit.entry import main

main()
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_process_exits_leaves_the_exit_code(tmp_path: Path, sig: str) -> None:
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    (tmp_path / "late.py").write_text(SCRIPT.format(sig=sig))
    proc = subprocess.run(
        [sys.executable, "late.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr)  # passed, as the journal says
    verdict = json.loads(proc.stdout)
    journal = json.loads((tmp_path / verdict["journal"]).read_text())
    assert journal["outcome"] == "passed" and journal["exit_code"] == 0
    assert not (tmp_path / "marker").exists()
