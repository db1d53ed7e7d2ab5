"""Signals at the edges of a real `chaoskit run`: at its first instant (seen in /proc: the moment it holds SIGTERM),
and after its journal is written (made deterministic with a named pipe: the CLI blocks writing its summary into
a FIFO, the test signals it there, then unblocks it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CHAOSKIT, wait_for

EXPERIMENT = """\
title: edges
method:
  - fault: testkit.marker
    with: {path: marker}
    duration: 100ms
"""


def catches(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has a handler for ``sig`` (/proc SigCgt)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    return False


def opening_fifo(pid: int) -> bool:
    """Whether the process waits in open() for the other end of a FIFO."""
    return Path(f"/proc/{pid}/wchan").read_text().strip() in ("fifo_open", "pipe_wait", "wait_for_partner")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_loading_ends_in_a_journal_and_130(tmp_path: Path, sig: signal.Signals) -> None:
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    proc = subprocess.Popen(
        [CHAOSKIT, "run", "exp.yaml", "--json", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The first instant chaoskit holds SIGTERM (Python itself only catches SIGINT): it has not even imported
        # its CLI yet, let alone loaded the experiment.
        end = time.monotonic() + 30
        while not catches(proc.pid, signal.SIGTERM):
            assert proc.poll() is None and time.monotonic() < end, proc.communicate()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    verdict = json.loads(out)
    name = "SIGINT (Ctrl-C)" if sig == signal.SIGINT else "SIGTERM"
    assert verdict["reason"] == f"interrupted by {name} before start; nothing was injected"
    journal = json.loads((tmp_path / verdict["journal"]).read_text())
    assert journal["outcome"] == "interrupted" and journal["faults"] == [] and journal["phases"] == []
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_once_the_journal_is_written_the_verdict_stands(tmp_path: Path, sig: signal.Signals) -> None:
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    summary = tmp_path / "summary.md"
    os.mkfifo(summary)
    proc = subprocess.Popen(
        [CHAOSKIT, "run", "exp.yaml", "-q", "--summary-md", str(summary)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The run is over and its journal written; the CLI blocks writing the summary into the FIFO.
        wait_for(lambda: proc.poll() is not None or opening_fifo(proc.pid), 30, "the summary write", interval=0.01)
        assert proc.poll() is None, proc.communicate()
        assert list(tmp_path.glob("chaoskit-runs/*/journal.json"))
        proc.send_signal(sig)
        with summary.open() as fh:  # unblock it
            text = fh.read()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err  # passed, whatever came after the verdict
    assert "passed" in text
