"""The run's state: the journal being built and what the phases report while the run goes, behind ONE lock.

The runner (main thread), the monitor thread, background actions and worker threads (late reverts) all write
here, and only through these methods, so no change is a check-then-append race:

- :meth:`RunState.observe` is the one place an observation enters the journal (a sink that streams observations
  to disk plugs in behind it); an observation of an abandoned monitor (``stale``) or one that comes after the
  journal is sealed is dropped, never half-added.
- :meth:`RunState.record_error` keeps each error once (same place, type and message).
- :meth:`RunState.deviate`, :meth:`RunState.note`, :meth:`RunState.request_abort`, and ``add_*`` for phases,
  faults and activities.
- :meth:`RunState.seal` is called once the phases are over: from then on an abandoned probe or background
  action adds no observation or activity (errors are still recorded: run-finished hooks may report some).

The lock is re-entrant (a hook called under it may record an error). Records handed in (a ``FaultRecord`` whose
``reverted_at`` is set later) are owned by their single writer; the lock guards the lists and the flags.
"""

from __future__ import annotations

import threading
import traceback
from typing import Protocol

from chaoskit.model.journal import ActivityRecord, ErrorRecord, FaultRecord, Journal, ObservationRecord, PhaseRecord
from chaoskit.redaction import scrub_text


class Sink(Protocol):
    """Where observations go instead of ``journal.observations``, and finished actions go as well
    (:class:`chaoskit.journalfile.ObservationSink`)."""

    count: int

    def append(self, record: ObservationRecord) -> None: ...

    def activity(self, record: ActivityRecord) -> None: ...


class RunState:
    def __init__(self, journal: Journal, sink: Sink | None = None) -> None:
        self.journal = journal
        self.sink = sink
        """With a sink, observations stream through it and ``journal.observations`` stays empty until the end."""
        self.lock = threading.RLock()
        self._recorded: list[BaseException] = []
        """The exceptions recorded so far (one per journal error at most), to record each one once."""
        self.abort = threading.Event()
        """Set by :meth:`request_abort` (a halt, an ``abort_when`` condition): waits wake up, the method stops."""
        self.abort_reason = ""
        self.deviations: list[str] = []
        """Why the steady state or a step's expectation did not hold (the outcome becomes ``deviated``)."""
        self.continued: list[str] = []
        """Method steps that failed with ``on_error: continue`` (named in the reason, whatever the outcome)."""
        self.sealed = False

    # -- the journal's lists ------------------------------------------------------------------
    def observe(self, record: ObservationRecord, stale: threading.Event | None = None) -> bool:
        """Append one observation. False (dropped) when ``stale`` is set (its monitor was abandoned) or the
        journal is sealed; the check and the append happen under the lock."""
        with self.lock:
            if self.sealed or (stale is not None and stale.is_set()):
                return False
            if self.sink is not None:
                self.sink.append(record)
            else:
                self.journal.observations.append(record)
            return True

    def observation_count(self) -> int:
        with self.lock:
            return self.sink.count if self.sink is not None else len(self.journal.observations)

    def add_phase(self, record: PhaseRecord) -> None:
        with self.lock:
            self.journal.phases.append(record)

    def current_phase(self) -> str | None:
        with self.lock:
            return self.journal.phases[-1].name if self.journal.phases else None

    def add_fault(self, record: FaultRecord) -> None:
        with self.lock:
            self.journal.faults.append(record)

    def add_activity(self, record: ActivityRecord) -> None:
        with self.lock:
            if not self.sealed:
                self.journal.activities.append(record)

    def end_activity(self, record: ActivityRecord) -> None:
        """An activity added with :meth:`add_activity` is over: the sink streams it (once; not after the seal)."""
        with self.lock:
            if not self.sealed and self.sink is not None:
                self.sink.activity(record)

    def record_error(self, where: str, exc: BaseException) -> None:
        """Add an error to the journal, redacted. The same error from the same place is recorded once (a hook
        called every 250 ms that keeps failing must not flood the journal), and one exception once, where it
        happened (a fatal hook's error that then ends the run is not recorded again as the run's)."""
        message = scrub_text(str(exc))
        record = ErrorRecord(
            where=where,
            type=type(exc).__name__,
            message=message,
            traceback=scrub_text("".join(traceback.format_exception(exc))),
        )
        with self.lock:  # not sealed: an error after the seal (a run-finished hook) still belongs in the journal
            errors = self.journal.errors
            if any(exc is seen for seen in self._recorded):
                return
            if any(e.where == where and e.type == record.type and e.message == message for e in errors):
                return
            errors.append(record)
            self._recorded.append(exc)

    # -- what the phases report -----------------------------------------------------------------
    def deviate(self, reason: str) -> None:
        with self.lock:
            self.deviations.append(reason)

    def note(self, text: str) -> None:
        """A method step failed with ``on_error: continue`` (said in the reason)."""
        with self.lock:
            self.continued.append(text)

    def request_abort(self, reason: str) -> bool:
        """Stop the run as ``aborted``; the first reason wins. True if this call set it."""
        with self.lock:
            if self.abort.is_set():
                return False
            self.abort_reason = reason
            self.abort.set()
            return True

    def seal(self) -> None:
        """No more observations or activities: the phases are over and the journal is being finalised."""
        with self.lock:
            self.sealed = True


__all__ = ["RunState"]
