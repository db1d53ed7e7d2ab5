"""The journal on disk: streamed while the run goes, assembled at the end, and read back (also a partial one).

A run of an hour at 10 Hz makes 36,000 observations; kept in memory until the end they cost about 1.5 KiB
each. So the runner appends every observation through an :class:`ObservationSink` to
``<run folder>/journal.partial.jsonl`` (one JSON object per line, written and flushed as it comes) and keeps
in memory only the first :data:`KEEP` of them. The same file gets, as one line each, the journal's head when the
run starts, each activity (action) when it ends, and a snapshot of its small, bounded parts (phases, faults,
errors, the activities still running) whenever a phase or a fault changes. A finished activity is written once
(a snapshot of every activity at every phase boundary cost each one a serialization per later snapshot). At the
end the observations are put back into the journal (from memory when the run made no more than :data:`KEEP`,
else read from the file), ``journal.json`` is written as before and the partial file is removed.

A run killed with SIGKILL (or by the OOM killer) leaves ``journal.partial.jsonl``: :func:`read_journal` turns it
into a journal (no outcome; its reason says the run did not finish), so ``chaoskit report`` renders it. A last
line cut in half by the kill is skipped.

Lines: ``{"head": {...}}`` (the journal without its lists), ``{"observation": {...}}``, ``{"activity": {...}}``
(a finished one), ``{"state": {"phases": [...], "faults": [...], "errors": [...], "activities": [...], ...}}`` (the
last one counts; its activities are those running then, also in files written before activities had lines of
their own: every activity). Secrets are hidden before a line is written, as in ``journal.json``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from chaoskit import redaction
from chaoskit.hooks import hookimpl
from chaoskit.model.journal import ActivityRecord, FaultRecord, Journal, ObservationRecord

PARTIAL = "journal.partial.jsonl"
FINAL = "journal.json"
KEEP = 1000
"""Observations kept in memory as well as on disk (a short run never reads its file back)."""
UNFINISHED = "the run did not finish: it ended before its journal was written (read from {name})"

_LISTS = {"observations", "phases", "faults", "activities", "errors"}
_STATE = {"phases", "faults", "errors", "trace_id", "traces", "load", "ttr_s", "artifacts"}


def _json(record: ObservationRecord | ActivityRecord) -> str:
    """``record.model_dump_json()``: its serializer called straight (the method's Python wrapper is 7k of 18k
    instructions, and every activity writes one line)."""
    return type(record).__pydantic_serializer__.to_json(record).decode()


def _line(kind: str, data: dict[str, Any]) -> str:
    if redaction.active():
        data = redaction.scrub(data, numbers=False)
    return json.dumps({kind: data}, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"


class ObservationSink:
    """Where the runner appends observations and finished actions (from any thread). Also a hook plugin: it
    writes the journal's head when the run starts and a snapshot of its bounded parts when a phase or a fault
    changes."""

    def __init__(self, run_dir: Callable[[], Path], on_error: Callable[[str, BaseException], None]) -> None:
        self._run_dir = run_dir
        self._on_error = on_error
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._failed = False
        self.path: Path | None = None
        self.count = 0
        self.kept: list[ObservationRecord] = []
        """The first :data:`KEEP` observations (all of them when the run made no more)."""

    # -- writing -----------------------------------------------------------------------------
    def _write(self, text: str) -> bool:
        """Under the lock. False when the file cannot be written (then the records stay in memory)."""
        if self._failed:
            return False
        try:
            if self._file is None:
                self.path = self._run_dir() / PARTIAL
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(text)
            self._file.flush()  # in the kernel's hands: a SIGKILL of this process loses nothing
            return True
        except OSError as exc:
            self._failed = True
            self._on_error("journal stream", exc)
            return False

    def append(self, record: ObservationRecord) -> None:
        if redaction.active():
            text = _line("observation", record.model_dump(mode="json"))
        else:  # pydantic's own serializer: no dict in between (this runs once per observation)
            text = '{"observation":' + _json(record) + "}\n"
        with self._lock:
            self.count += 1
            written = self._write(text)
            if len(self.kept) < KEEP or not written:
                self.kept.append(record)

    def snapshot(self, journal: Journal) -> None:
        data = journal.model_dump(mode="json", include=_STATE)
        data["activities"] = [a.model_dump(mode="json") for a in list(journal.activities) if a.ended_at is None]
        text = _line("state", data)
        with self._lock:
            self._write(text)

    # -- hooks -------------------------------------------------------------------------------
    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        head = journal.model_dump(mode="json", by_alias=True, exclude=_LISTS)
        text = _line("head", head)
        with self._lock:
            self._write(text)

    def activity(self, record: ActivityRecord) -> None:
        """An action's record, once it is over (from any thread, through ``RunState.end_activity``; faults are in
        the snapshots)."""
        if redaction.active():
            text = _line("activity", record.model_dump(mode="json"))
        else:
            text = '{"activity":' + _json(record) + "}\n"
        with self._lock:
            self._write(text)

    @hookimpl
    def chaoskit_phase_started(self, journal: Journal) -> None:
        self.snapshot(journal)

    @hookimpl
    def chaoskit_phase_finished(self, journal: Journal) -> None:
        self.snapshot(journal)

    @hookimpl
    def chaoskit_fault_injected(self, journal: Journal, fault: FaultRecord) -> None:
        self.snapshot(journal)

    @hookimpl
    def chaoskit_fault_reverted(self, journal: Journal, fault: FaultRecord) -> None:
        self.snapshot(journal)

    # -- the end -----------------------------------------------------------------------------
    def observations(self) -> list[ObservationRecord]:
        """Every observation, in the order they came (read back from the file when more than :data:`KEEP`)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            if self.count <= len(self.kept) or self.path is None:
                return list(self.kept)
            path = self.path
        return [ObservationRecord.model_validate(data) for kind, data in _lines(path) if kind == "observation"]

    def remove(self) -> None:
        """The journal is written: the partial file has served."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            if self.path is not None:
                self.path.unlink(missing_ok=True)


# -- reading -----------------------------------------------------------------------------------
def _lines(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The records of a partial journal; a line the kill cut in half (or any unreadable line) is skipped."""
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and len(item) == 1:
                kind, data = next(iter(item.items()))
                if isinstance(data, dict):
                    yield kind, data


def read_partial(path: Path) -> Journal:
    """A journal from a ``journal.partial.jsonl`` (a run that did not finish). Raises ValueError when the file
    has no head line (the run was killed before it started), pydantic's ValidationError when a record is not
    a journal record."""
    head: dict[str, Any] | None = None
    state: dict[str, Any] = {}
    observations: list[dict[str, Any]] = []
    finished: list[dict[str, Any]] = []
    for kind, data in _lines(path):
        if kind == "head":
            head = data
        elif kind == "state":
            state = data
        elif kind == "observation":
            observations.append(data)
        elif kind == "activity":
            finished.append(data)
    if head is None:
        raise ValueError(f"{path} has no journal head (the run ended before it started)")
    journal = Journal.model_validate(
        {**head, **state, "observations": observations, "activities": _activities(finished, state)}
    )
    journal.outcome = None
    journal.reason = UNFINISHED.format(name=path.name)
    journal.artifacts.setdefault("journal", str(path))
    return journal


def _activities(finished: list[dict[str, Any]], state: dict[str, Any]) -> list[dict[str, Any]]:
    """The finished activities, and those the last snapshot saw running that never finished; by start."""
    done = {(a.get("name"), a.get("started_at")) for a in finished}
    running = [a for a in state.get("activities") or [] if (a.get("name"), a.get("started_at")) not in done]
    return sorted([*finished, *running], key=lambda a: a.get("started_at") or 0.0)


def journal_file(where: Path) -> Path:
    """The journal of a run: ``where`` itself, or in a run folder ``journal.json`` or else the partial one."""
    if not where.is_dir():
        return where
    final = where / FINAL
    return final if final.exists() or not (where / PARTIAL).exists() else where / PARTIAL


def read_journal(where: Path) -> Journal:
    """A run's journal from a file or a run folder: ``journal.json``, or ``journal.partial.jsonl`` of a run that
    did not finish. Raises OSError, ValueError or pydantic's ValidationError."""
    path = journal_file(where)
    if path.name.endswith(".jsonl"):
        return read_partial(path)
    return Journal.model_validate_json(path.read_bytes())


__all__ = ["KEEP", "PARTIAL", "ObservationSink", "journal_file", "read_journal", "read_partial"]
