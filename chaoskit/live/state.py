"""What the live view shows, built from the run's hooks: the queue of experiments, the current one and its phase,
the active faults (with time left), the latest probe results, a per-second timeline (the load's and the traces'
SLIs, see :mod:`.sli`, and the probes' numbers) with the fault windows, each finished experiment's verdict, the
day's notes and its gates (the one waiting for an answer, and who answered the others). Bounded: the last 600
seconds, 200 probe results, the last 100 notes."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from chaoskit.hooks import hookimpl
from chaoskit.run.notes import Notebook

if TYPE_CHECKING:
    from chaoskit.model.journal import ActivityRecord, FaultRecord, Journal, ObservationRecord
    from chaoskit.plugin import LoadRun

TIMELINE_S = 600
RESULTS = 200


class LiveState:
    """Thread-safe: hooks write from the runner's threads, the server reads from its own."""

    def __init__(self, queue: list[str], notebook: Notebook | None = None) -> None:
        self._lock = threading.Condition()
        self.notebook = notebook if notebook is not None else Notebook()
        self.gate: dict[str, Any] | None = None
        """The gate waiting for an answer: id, question, asked_at."""
        self.gates: list[dict[str, Any]] = []
        """Answered gates: id, question, go, by, answered_at."""
        self._gate_ids = 0
        self.version = 0
        self.queue = list(queue)
        self.done: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.faults: dict[str, dict[str, Any]] = {}
        self.windows: list[dict[str, Any]] = []
        self.results: deque[dict[str, Any]] = deque(maxlen=RESULTS)
        self.timeline: dict[int, dict[str, Any]] = {}
        """Second (epoch) -> {series name: value}; the last :data:`TIMELINE_S` seconds."""
        self.halted: str = ""
        self.finished = False
        self.parallel: dict[str, dict[str, Any]] = {}
        """A parallel group's experiments (each in its own process; see :mod:`.feed`): name -> its last state."""
        self.load: LoadRun | None = None
        self.sli_error = ""
        self._stop_sampler = threading.Event()
        self._sampler: threading.Thread | None = None

    def _changed(self) -> None:
        self.version += 1
        self._lock.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            now = time.time()
            return {
                "version": self.version,
                "now": now,
                "queue": self.queue,
                "done": list(self.done),
                "current": self.current,
                "faults": [
                    {**f, "left_s": None if f.get("until") is None else max(0.0, f["until"] - now)}
                    for f in self.faults.values()
                ],
                "windows": list(self.windows),
                "results": list(self.results)[-30:],
                "timeline": [self.timeline[t] for t in sorted(self.timeline)],
                "sli_error": self.sli_error,
                "halted": self.halted,
                "finished": self.finished,
                "parallel": [{"name": name, **child} for name, child in self.parallel.items()],
                "gate": self.gate,
                "gates": self.gates[-20:],
                "notes": [{"at": n.at, "by": n.by, "text": n.text} for n in self.notebook.notes()[-100:]],
            }

    def wait_change(self, version: int, timeout: float) -> int:
        with self._lock:
            self._lock.wait_for(lambda: self.version != version, timeout)
            return self.version

    def finish(self) -> None:
        self._stop_sampler.set()
        with self._lock:
            self.finished = True
            self._changed()

    # -- the timeline ------------------------------------------------------------------------------------------
    def put(self, t: int, values: dict[str, Any]) -> None:
        """Set ``values`` for the second ``t`` (epoch s)."""
        with self._lock:
            row = self.timeline.get(t)
            if row is None:
                row = self.timeline[t] = {"t": t}
                while len(self.timeline) > TIMELINE_S:
                    del self.timeline[min(self.timeline)]
            if any(row.get(k) != v for k, v in values.items()):
                row.update(values)
                self._changed()

    # -- a parallel group (each experiment in its own process) ------------------------------------------------
    def begin_group(self, names: list[str]) -> None:
        with self._lock:
            self.parallel = {name: {"current": None, "faults": [], "finished": False} for name in names}
            self.current = None  # the page's header names the group; each experiment has its own panel
            self.faults.clear()
            self._changed()

    def put_child(self, name: str, child: dict[str, Any]) -> None:
        """A child's latest state; its verdict joins the day's list once it is over."""
        with self._lock:
            before = self.parallel.get(name, {})
            if len(child.get("done", [])) > len(before.get("done", [])):
                self.done += child["done"][len(before.get("done", [])) :]
            self.parallel[name] = child
            self._changed()

    def sources(self) -> tuple[LoadRun | None, str | None]:
        """The current run's load (None without one) and run id (for its received traces)."""
        with self._lock:
            current = self.current
            running = current is not None and current.get("outcome") is None
            return self.load, (str(current["run_id"]) if running and current is not None else None)

    def sampler_error(self, text: str) -> None:
        with self._lock:
            self.sli_error = f"the load and trace numbers stopped: {text}"
            self._changed()

    # -- people: notes and gates --------------------------------------------------------------------------
    def add_note(self, text: str, by: str) -> dict[str, Any]:
        """A participant's note: into the day's notebook (and the running experiment's journal). ValueError when
        it is empty or too long."""
        note = self.notebook.add(text, by)
        with self._lock:
            self._changed()
        return {"at": note.at, "by": note.by, "text": note.text}

    def open_gate(self, question: str) -> int:
        with self._lock:
            self._gate_ids += 1
            self.gate = {"id": self._gate_ids, "question": question, "asked_at": time.time()}
            self._changed()
            return self._gate_ids

    def answer_gate(self, gate_id: int, go: bool, by: str) -> tuple[bool, dict[str, Any] | None]:
        """The first answer wins: (True, its record), or (False, the answer given before; None: no such gate)."""
        with self._lock:
            if self.gate is None or self.gate["id"] != gate_id:
                return False, next((g for g in self.gates if g["id"] == gate_id), None)
            record = {**self.gate, "go": go, "by": by, "answered_at": time.time()}
            self.gate = None
            self.gates.append(record)
            self._changed()
            return True, record

    def wait_gate(self, gate_id: int, timeout: float) -> dict[str, Any] | None:
        """The gate's answer once it has one (None after ``timeout`` seconds without)."""
        with self._lock:
            self._lock.wait_for(lambda: self.gate is None or self.gate["id"] != gate_id, timeout)
            return next((g for g in self.gates if g["id"] == gate_id), None)

    def note_halt(self, text: str) -> None:
        with self._lock:
            self.halted = text
            self._changed()

    # -- hooks -------------------------------------------------------------------------------------------------
    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        with self._lock:
            self.current = {"title": journal.title, "run_id": journal.run_id, "phase": "start", "outcome": None}
            self.notebook.running = journal
            self.load = None
            self.parallel = {}
            self.faults.clear()
            self.windows = []
            self._changed()
            if self._sampler is None:
                from chaoskit.live.sli import start_sampler

                self._sampler = start_sampler(self, self._stop_sampler)

    @hookimpl
    def chaoskit_load_started(self, journal: Journal, load: LoadRun) -> None:
        with self._lock:
            self.load = load

    @hookimpl
    def chaoskit_phase_started(self, journal: Journal, phase: str) -> None:
        with self._lock:
            if self.current is not None:
                self.current["phase"] = phase
            self._changed()

    @hookimpl
    def chaoskit_fault_injected(self, journal: Journal, fault: FaultRecord) -> None:
        with self._lock:
            self.faults[fault.ledger_id] = {"name": fault.name, "target": fault.target, "since": fault.injected_at}
            self.windows.append({"name": fault.name, "start": fault.injected_at, "end": None})
            self._changed()

    @hookimpl
    def chaoskit_waiting(self, journal: Journal, what: str, seconds: float) -> None:
        with self._lock:
            for fault in self.faults.values():
                if fault.get("until") is None and fault["name"] in what:
                    fault["until"] = time.time() + seconds
            self._changed()

    @hookimpl
    def chaoskit_fault_reverted(self, journal: Journal, fault: FaultRecord) -> None:
        with self._lock:
            self.faults.pop(fault.ledger_id, None)
            for window in self.windows:
                if window["name"] == fault.name and window["end"] is None:
                    window["end"] = fault.reverted_at or time.time()
            self._changed()

    @hookimpl
    def chaoskit_activity_finished(
        self, journal: Journal, kind: str, record: ObservationRecord | ActivityRecord | FaultRecord
    ) -> None:
        if kind != "probe":
            return
        value = getattr(record, "value", None)
        with self._lock:
            self.results.append(
                {
                    "probe": getattr(record, "probe", ""),
                    "phase": getattr(record, "phase", ""),
                    "ok": getattr(record, "ok", None),
                    "value": value if isinstance(value, int | float | str | bool) or value is None else str(value),
                    "at": time.time(),
                }
            )
            self._changed()
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.put(int(time.time()), {getattr(record, "probe", "?"): value})

    @hookimpl
    def chaoskit_aborted(self, journal: Journal, reason: str) -> None:
        with self._lock:
            if self.current is not None:
                self.current["aborted"] = reason
            self._changed()

    @hookimpl
    def chaoskit_run_finished(self, journal: Journal) -> None:
        from chaoskit.live.sli import sample

        try:  # the last seconds of the load, settled now that it has stopped
            sample(self, 8)
        except Exception as exc:
            self.sampler_error(f"{type(exc).__name__}: {exc}")
        with self._lock:
            self.load = None
            outcome = journal.outcome.value if journal.outcome else "error"
            self.done.append({"title": journal.title, "outcome": outcome, "reason": journal.reason})
            if self.current is not None:
                self.current.update(phase="finished", outcome=outcome, reason=journal.reason)
            if self.notebook.running is journal:
                self.notebook.running = None
            self.faults.clear()
            self._changed()
