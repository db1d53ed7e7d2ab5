"""The revert ledger: what is needed to undo each fault, on disk before the fault is injected.

One file per run in ``$CHAOSKIT_STATE_DIR/ledger/`` (default ``~/.local/state/chaoskit``). Every
write is atomic (temp file, fsync, rename, fsync of the folder). A run that ends normally deletes its
file once every fault is reverted; a killed run leaves it for ``chaoskit rollback``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chaoskit import redaction
from chaoskit.errors import LedgerError

LEDGER_SCHEMA = "chaoskit.ledger/1"
State = Literal["planned", "injected", "reverted", "revert-failed"]


def state_dir() -> Path:
    explicit = os.environ.get("CHAOSKIT_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "chaoskit"


def ledger_dir() -> Path:
    return state_dir() / "ledger"


class LedgerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    plugin: str
    name: str
    info: dict[str, Any]
    state: State = "planned"
    error: str | None = None
    updated_at: float = Field(default_factory=time.time)


class LedgerFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: str = Field(default=LEDGER_SCHEMA, alias="schema")
    run_id: str
    title: str
    pid: int
    created_at: float = Field(default_factory=time.time)
    entries: list[LedgerEntry] = Field(default=[])

    def pending(self) -> list[LedgerEntry]:
        """Entries that may still be in effect, newest first (the order to revert them)."""
        return [e for e in reversed(self.entries) if e.state != "reverted"]


class Ledger:
    def __init__(self, path: Path, data: LedgerFile) -> None:
        self.path = path
        self.data = data
        self._lock = threading.RLock()  # a late revert may update the ledger from a worker thread

    @property
    def temp_path(self) -> Path:
        """The one temp file of this ledger's atomic writes (a fixed name: a leftover is found and removed)."""
        return self.path.with_name(f".{self.path.name}.tmp")

    @classmethod
    def create(cls, run_id: str, title: str, directory: Path | None = None) -> Ledger:
        directory = directory or ledger_dir()
        return cls(directory / f"{run_id}.json", LedgerFile(run_id=run_id, title=title, pid=os.getpid()))

    @classmethod
    def open(cls, path: Path) -> Ledger:
        try:
            data = LedgerFile.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            raise LedgerError(f"no ledger at {path}") from None
        except OSError as exc:
            raise LedgerError(f"ledger {path} is unreadable: {exc.strerror or exc}") from None
        except ValidationError as exc:
            raise LedgerError(f"ledger {path} is not a chaoskit ledger: {_first_problem(exc)}") from None
        return cls(path, data)

    def add(self, entry: LedgerEntry) -> None:
        with self._lock:
            self.data.entries.append(entry)
            self.save()

    def update(self, entry_id: str, **changes: Any) -> None:
        with self._lock:
            for i, entry in enumerate(self.data.entries):
                if entry.id == entry_id:
                    self.data.entries[i] = entry.model_copy(update={**changes, "updated_at": time.time()})
                    self.save()
                    return
        raise LedgerError(f"ledger {self.path} has no entry {entry_id}")

    def save(self) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            payload = _json_text(self.data).encode()
            tmp = self.temp_path
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def close_if_clean(self) -> bool:
        """Delete the file (and any temp file of it) when nothing is pending. Returns True if deleted."""
        with self._lock:
            if self.data.pending():
                return False
            self.path.unlink(missing_ok=True)
            self.temp_path.unlink(missing_ok=True)
            return True


def pending_ledgers(directory: Path | None = None) -> list[Path]:
    directory = directory or ledger_dir()
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.json") if not p.name.startswith("."))


def stale_temp_files(directory: Path, older_than: float = 10.0) -> list[Path]:
    """Temp files of interrupted ledger writes (a write takes milliseconds; these are older than ``older_than``
    seconds and their ledger's run is gone): ``.<ledger>.tmp``, and ``.ledger-*`` of older chaoskit versions."""
    if not directory.is_dir():
        return []
    now = time.time()
    found = []
    for path in [*directory.glob(".*.json.tmp"), *directory.glob(".ledger-*")]:
        ledger = path.with_name(path.name[1:].removesuffix(".tmp"))
        try:
            old = now - path.stat().st_mtime > older_than
            owner = LedgerFile.model_validate_json(ledger.read_bytes()).pid if ledger.exists() else None
        except (OSError, ValidationError):
            owner = None
        if owner is not None and owner != os.getpid() and pid_alive(owner):
            continue
        if old or (owner is not None and not pid_alive(owner)):
            found.append(path)
    return sorted(found)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dump_json(path: Path, data: Any) -> None:
    """Atomic JSON write for journals and reports. A pydantic model is serialized by pydantic (about 10x
    faster than ``json.dumps`` with ``indent``, which falls back to the pure-Python encoder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    text = _json_text(data)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _json_text(data: Any) -> str:
    """JSON text with secrets hidden (see :mod:`chaoskit.redaction`; typed numbers keep their type)."""
    if redaction.active():
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json", by_alias=True)
        return json.dumps(redaction.scrub(data, numbers=False), indent=2, default=str)
    if isinstance(data, BaseModel):
        return data.model_dump_json(indent=2, by_alias=True)
    return json.dumps(data, indent=2, default=str)


def _first_problem(exc: ValidationError) -> str:
    """One line for a file that is not a ledger: pydantic's first error (where and what), and how many more."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    text = f"{where}: {first['msg']}" if where else first["msg"]
    return text + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
