"""The kill switch: ``chaoskit halt`` stops every live run of this machine's state folder.

Two kinds of files in the state folder (``$CHAOSKIT_STATE_DIR``, see :func:`chaoskit.ledger.state_dir`):

- ``halt``: present means halted. It holds JSON (who, when, why), but any file counts, so automation
  can simply create it (``touch``). Live runs poll it, revert and end ``aborted`` ("halted: ...");
  their guardians revert for a runner that does not stop; new runs are refused until it is removed
  (:func:`release`, ``chaoskit halt --release``).
- ``runs/<run id>.json``: one per live run (pid, title, run folder), written when a run starts and
  removed when it ends, so ``halt`` can say which runs it stopped and wait for them.

The Python API (:func:`halt`, :func:`release`, :func:`current`, :func:`live_runs`,
:func:`wait_stopped`) is what the CLI uses; a live view or a CI job can call it the same way.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from chaoskit.ledger import pid_alive, state_dir


class HaltState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = ""
    by: str = "unknown"
    at: float

    def who_when(self) -> str:
        return f"by {self.by} at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self.at))}"

    def abort_reason(self) -> str:
        """Why a live run stopped: ``halted: <reason> (by <who> at <when>)``."""
        return f"halted: {self.reason or 'no reason given'} ({self.who_when()})"

    def refusal(self) -> str:
        """Why a new run does not start."""
        return (
            f"halted: refused to start: chaoskit is halted {self.who_when()} "
            f"({self.reason or 'no reason given'}); `chaoskit halt --release` lifts it"
        )


class LiveRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    pid: int
    title: str
    started_at: float
    run_dir: str


def halt_path(state: Path | None = None) -> Path:
    return (state or state_dir()) / "halt"


def runs_dir(state: Path | None = None) -> Path:
    return (state or state_dir()) / "runs"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def whoami() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} (pid {os.getpid()})"


def halt(reason: str = "", by: str | None = None, state: Path | None = None) -> HaltState:
    """Halt every live run and refuse new ones. Halting again replaces the reason."""
    halted = HaltState(reason=reason, by=by or whoami(), at=time.time())
    _atomic_write(halt_path(state), halted.model_dump_json(indent=2) + "\n")
    return halted


def release(state: Path | None = None) -> HaltState | None:
    """Lift the halt; returns the halt that was lifted (None when there was none)."""
    path = halt_path(state)
    previous = current(state)
    path.unlink(missing_ok=True)
    return previous


def current(state: Path | None = None) -> HaltState | None:
    """The halt in force, or None. A file that is not a halt record still halts (reason unknown)."""
    path = halt_path(state)
    try:
        raw = path.read_bytes()
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    except OSError as exc:
        return HaltState(reason=f"halt file {path} is unreadable: {exc}", at=time.time())
    try:
        return HaltState.model_validate_json(raw)
    except ValidationError:
        return HaltState(reason=f"halt file {path} present", at=mtime)


def register_run(run: LiveRun, state: Path | None = None) -> Path:
    path = runs_dir(state) / f"{run.run_id}.json"
    _atomic_write(path, run.model_dump_json() + "\n")
    return path


def live_runs(state: Path | None = None) -> list[LiveRun]:
    """Runs whose process is alive (files of dead runs are removed on the way)."""
    found = []
    folder = runs_dir(state)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            run = LiveRun.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError):
            continue
        if pid_alive(run.pid):
            found.append(run)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return found


def wait_stopped(runs: list[LiveRun], timeout: float, state: Path | None = None, poll: float = 0.1) -> list[LiveRun]:
    """Wait until each run has ended (its register file is gone or its process is); return those still live."""
    end = time.monotonic() + timeout
    left = list(runs)
    while left:
        folder = runs_dir(state)
        left = [r for r in left if (folder / f"{r.run_id}.json").exists() and pid_alive(r.pid)]
        if not left or time.monotonic() >= end:
            break
        time.sleep(poll)
    return left


__all__ = [
    "HaltState",
    "LiveRun",
    "current",
    "halt",
    "halt_path",
    "live_runs",
    "register_run",
    "release",
    "runs_dir",
    "wait_stopped",
]
