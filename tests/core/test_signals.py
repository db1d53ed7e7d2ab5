"""Real signals to a real `chaoskit run` process: SIGINT and SIGTERM revert; after SIGKILL, `rollback` does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CHAOSKIT, run_cli

EXPERIMENT = """\
title: hold a marker
method:
  - fault: testkit.marker
    name: marker
    with: {path: marker}
    duration: 60s
rollbacks:
  - action: process
    with: {command: ["touch", "rollback-ran"]}
"""


def start(tmp_path: Path, extra: str = "") -> subprocess.Popen[str]:
    (tmp_path / "exp.yaml").write_text(EXPERIMENT + extra)
    proc = subprocess.Popen(
        [CHAOSKIT, "run", "exp.yaml", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "marker").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the fault was never injected"
        time.sleep(0.02)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_reverts_and_journal_says_interrupted(tmp_path: Path, sig: signal.Signals) -> None:
    proc = start(tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert not (tmp_path / "marker").exists()
    assert (tmp_path / "rollback-ran").exists()
    verdict = json.loads(out)
    assert verdict["outcome"] == "interrupted"
    journal = json.loads(Path(tmp_path, verdict["journal"]).read_text())
    assert journal["outcome"] == "interrupted" and sig.name in journal["reason"]
    assert journal["faults"][0]["reverted_at"] is not None


def test_sigkill_leaves_a_ledger_and_rollback_restores_idempotently(tmp_path: Path, isolated_state: Path) -> None:
    proc = start(tmp_path, "safety: {guardian: {enabled: false}}\n")  # no guardian: a person runs rollback
    proc.kill()
    proc.wait(timeout=10)
    assert (tmp_path / "marker").exists()  # the runner could not revert
    ledgers = list((isolated_state / "ledger").glob("*.json"))
    assert len(ledgers) == 1
    entry = json.loads(ledgers[0].read_text())["entries"][0]
    # SIGKILL may land between inject and the ledger saying so: rollback must handle both states
    assert entry["state"] in ("planned", "injected") and entry["plugin"] == "testkit.marker"

    first = run_cli("rollback")
    assert first.returncode == 0, first.stderr
    assert "reverted marker (testkit.marker" in first.stderr
    assert not (tmp_path / "marker").exists()
    assert not ledgers[0].exists()

    second = run_cli("rollback")
    assert second.returncode == 0
    assert "nothing to roll back" in second.stderr


def test_rollback_of_a_live_run_is_refused_without_force(tmp_path: Path) -> None:
    proc = start(tmp_path)
    try:
        result = run_cli("rollback")
        assert result.returncode == 0
        assert "still running" in result.stderr and (tmp_path / "marker").exists()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert not (tmp_path / "marker").exists()
