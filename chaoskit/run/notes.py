"""What people say during a game day: notes (``--note``, typed at a gate, or in the live page's note box) and the
answers to the plan's gates. One :class:`Notebook` per day, shared by the plan runner, the terminal and the live
view; the day's ``index.html`` shows all of it. A note taken while an experiment runs also goes into that run's
journal (``notes``), with its time and who took it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal

MAX_NOTE = 2000
MAX_NOTES = 1000


@dataclass
class Note:
    at: float
    text: str
    by: str = ""


@dataclass
class GateAnswer:
    """A gate's answer: go on or stop the day, an optional note, and who answered."""

    go: bool
    note: str = ""
    by: str = "terminal"


@dataclass
class Gate:
    step: str
    question: str
    asked_at: float
    answered_at: float
    go: bool
    by: str


class Notebook:
    """Thread-safe: the terminal, the plan runner and the live view's server threads write to it."""

    def __init__(self, notes: tuple[str, ...] = (), by: str = "command line") -> None:
        self._lock = threading.Lock()
        self._notes = [Note(time.time(), text, by) for text in notes]
        self.gates: list[Gate] = []
        self.running: Journal | None = None
        """The journal of the experiment running now in this process (set by the live view's hooks)."""

    def add(self, text: str, by: str) -> Note:
        """Take a note (stripped, at most :data:`MAX_NOTE` characters); ValueError when it is empty or the day
        has :data:`MAX_NOTES` already."""
        text = " ".join(text.split())
        if not text:
            raise ValueError("the note is empty")
        if len(text) > MAX_NOTE:
            raise ValueError(f"the note has {len(text)} characters; at most {MAX_NOTE}")
        from chaoskit.model.journal import NoteRecord
        from chaoskit.redaction import scrub_text

        note = Note(time.time(), scrub_text(text), scrub_text(by))
        with self._lock:
            if len(self._notes) >= MAX_NOTES:
                raise ValueError(f"the day has {MAX_NOTES} notes already")
            self._notes.append(note)
            if self.running is not None and self.running.ended_at is None:
                self.running.notes.append(NoteRecord(at=note.at, by=note.by, text=note.text))
        return note

    def notes(self) -> list[Note]:
        with self._lock:
            return list(self._notes)

    def answered(self, gate: Gate) -> None:
        with self._lock:
            self.gates.append(gate)


__all__ = ["Gate", "GateAnswer", "Note", "Notebook"]
