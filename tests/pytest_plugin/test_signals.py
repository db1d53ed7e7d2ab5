"""Ctrl-C and SIGTERM during a chaos test: the fault is reverted, then pytest stops as the signal meant."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HELD = "title: held\nmethod:\n  - name: held\n    fault: testkit.marker\n"
HELD += "    with: {path: held.flag}\n    duration: 2m\n"


@pytest.mark.parametrize(("sig", "exit_code"), [(signal.SIGINT, 2), (signal.SIGTERM, 143)])
def test_a_signal_reverts_the_fault_and_stops_pytest(pytester: pytest.Pytester, sig: int, exit_code: int) -> None:
    pytester.makefile(".chaos.yaml", held=HELD)
    pytester.makepyfile(test_after="def test_never_reached():\n    pass\n")
    flag = pytester.path / "held.flag"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--chaos", "-p", "no:cacheprovider", "held.chaos.yaml", "test_after.py"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        end = time.monotonic() + 120
        while not flag.exists():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < end, "the fault was never injected"
            time.sleep(0.05)
        time.sleep(0.3)  # let the runner reach the hold
        os.kill(proc.pid, sig)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not flag.exists(), "the fault was left behind"
    assert proc.returncode == exit_code, out
    assert "test_never_reached" not in out and "1 passed" not in out, out
    journal = json.loads(Path(pytester.path, "chaoskit-test-runs/held.chaos.yaml--held/journal.json").read_text())
    assert journal["outcome"] == "interrupted"
    assert signal.Signals(sig).name in journal["reason"]
    assert journal["faults"][0]["reverted_at"] is not None
