"""An interrupt inside a ledger write leaves no temp file; `chaoskit rollback` removes (and names) the temp files
a killed run left; a real signal during a deferred block (ledger entry + fault stack) waits for the block's end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chaoskit.ledger import Ledger, LedgerEntry
from chaoskit.signals import SignalGuard
from tests.conftest import run_cli


def test_an_interrupt_inside_the_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger.create("run1", "t", tmp_path)
    ledger.add(LedgerEntry(id="a", plugin="testkit.marker", name="a", info={"path": "x"}))
    before = ledger.path.read_bytes()

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ledger.add(LedgerEntry(id="b", plugin="testkit.marker", name="b", info={"path": "y"}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run1.json"]  # no temp file
    assert ledger.path.read_bytes() == before  # the last complete write stands


def test_rollback_removes_the_temp_files_a_killed_run_left(tmp_path: Path, isolated_state: Path) -> None:
    folder = isolated_state / "ledger"
    folder.mkdir()
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from chaoskit.ledger import Ledger, LedgerEntry\n"
        "ledger = Ledger.create('dead', 't', Path(sys.argv[1]))\n"
        f"info = {{'path': {str(tmp_path / 'm')!r}}}\n"
        "ledger.add(LedgerEntry(id='m', plugin='testkit.marker', name='m', info=info))\n"
        "ledger.temp_path.write_text('half a write')  # as if killed inside the next write\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    child = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL
    (folder / ".ledger-legacy123").write_text("from an older chaoskit")
    old = 1_000_000_000
    os.utime(folder / ".ledger-legacy123", (old, old))
    result = run_cli("rollback")
    assert result.returncode == 0, result.stderr
    assert "reverted m (testkit.marker, run dead)" in result.stderr
    assert f"removed {folder / '.dead.json.tmp'}" in result.stderr
    assert f"removed {folder / '.ledger-legacy123'}" in result.stderr
    assert list(folder.iterdir()) == []


def test_a_signal_inside_a_deferred_block_is_raised_when_it_ends() -> None:
    guard = SignalGuard()
    done: list[str] = []
    with guard.installed(), pytest.raises(KeyboardInterrupt), guard.deferred():
        os.kill(os.getpid(), signal.SIGINT)  # delivered here, held back
        done.append("ledger entry")
        done.append("fault stack")
    assert done == ["ledger entry", "fault stack"]
    assert json.dumps(guard.ignored) == "[]"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("garbage\n", "Invalid JSON: expected value at line 1 column 1"), ('{"run_id": 3}', "run_id: Input should be")],
)
def test_rollback_of_a_file_that_is_not_a_ledger_says_so_in_one_line(
    tmp_path: Path, isolated_state: Path, text: str, problem: str
) -> None:
    bad = tmp_path / "g.json"
    bad.write_text(text)
    result = run_cli("rollback", "--ledger", str(bad))
    assert result.returncode == 4, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: ledger {bad} is not a chaoskit ledger: {problem}"), lines
    assert "pydantic" not in result.stderr and bad.read_text() == text  # left as it was
