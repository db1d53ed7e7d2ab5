"""The monitor thread: during the method it keeps probing -- the continuous steady state (every
``steady_state.frequency``) and ``safety.abort_when`` (every ``safety.interval``).

It knows the run only through three callables: ``probe`` (run one probe and journal it), ``on_abort(reason)``
(an abort condition triggered) and ``on_error(where, exc)``. Stopping it never waits past the run's deadline: a
probe still in flight is abandoned after a short join, and what it observes afterwards is dropped (``stale``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chaoskit.model.experiment import ProbeSpec, Safety, SteadyState
from chaoskit.model.journal import ObservationRecord, Phase
from chaoskit.reasons import Tally
from chaoskit.timeouts import Deadline

JOIN_S = 0.2
"""How long stopping the monitor waits for a probe in flight before abandoning it."""


ProbeOnce = Callable[[str, ProbeSpec, Phase, bool, threading.Event], ObservationRecord]
"""Run one probe and journal it: ``(path, spec, phase, abort_condition, stale)``, no deadline (see
:meth:`chaoskit.run.steps.Steps.probe`)."""


class Monitor:
    def __init__(
        self,
        probe: ProbeOnce,
        safety: Safety,
        steady: SteadyState,
        on_abort: Callable[[str], object],
        on_error: Callable[[str, BaseException], None],
        lock: threading.RLock | None = None,
    ) -> None:
        self.probe = probe
        self.safety = safety
        self.steady = steady
        self.on_abort = on_abort
        self.on_error = on_error
        self.lock = lock or threading.RLock()
        """The run state's lock: ``stale`` is set under it, so no observation is journaled once ``stop`` returns."""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._stale = threading.Event()  # set once the monitor is abandoned: its late results are dropped
        self._continuous: dict[str, Tally] = {}  # by probe label: counts, first and worst miss (bounded)
        self._tally_lock = threading.Lock()

    def start(self, continuous: bool) -> None:
        if not continuous and not self.safety.abort_when:
            return
        self._stop.clear()
        self._stale.clear()
        self._thread = threading.Thread(target=self._watch, args=(continuous,), name="chaoskit: monitor", daemon=True)
        self._thread.start()

    def stop(self, deadline: Deadline, wait: bool = False) -> None:
        """Stop the monitor. With ``wait`` (the method ended normally) a probe in flight may finish and count,
        up to its timeout but never past ``deadline``. Otherwise (an interrupt, an abort, the deadline) it is
        not waited for: the thread is abandoned after a short join."""
        if self._thread is None:
            return
        limit = JOIN_S
        if wait:
            probes = [*self.safety.abort_when, *self.steady.probes]
            limit = deadline.cap(max((p.timeout for p in probes), default=0.0) + 1) + JOIN_S
        self._stop.set()
        self._thread.join(timeout=limit)
        with self.lock:
            self._stale.set()
        self._thread = None

    def _watch(self, continuous: bool) -> None:
        abort_when = self.safety.abort_when
        next_abort = next_steady = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if abort_when and now >= next_abort:
                    next_abort = now + self.safety.interval
                    if self._check_abort(abort_when):
                        return
                if continuous and now >= next_steady:
                    next_steady = now + self.steady.frequency
                    for i, spec in enumerate(self.steady.probes):
                        rec = self._probe(f"steady_state.probes[{i}]", spec, Phase.METHOD, False)
                        if self._stale.is_set():
                            return
                        with self._tally_lock:
                            self._continuous.setdefault(spec.label, Tally(spec.expect)).add(rec)
            except Exception as exc:  # never let the monitor die silently
                self.on_error("monitor", exc)
            wake = min(next_abort if abort_when else float("inf"), next_steady if continuous else float("inf"))
            self._stop.wait(max(0.0, wake - time.monotonic()))

    def _check_abort(self, abort_when: list[ProbeSpec]) -> bool:
        for i, spec in enumerate(abort_when):
            rec = self._probe(f"safety.abort_when[{i}]", spec, Phase.SAFETY, True)
            if self._stale.is_set():
                return True
            if rec.triggered:
                self.on_abort(f"safety.abort_when[{i}] ({spec.label}) {rec.reason}")
                return True
        return False

    def _probe(self, path: str, spec: ProbeSpec, phase: Phase, abort_condition: bool) -> ObservationRecord:
        return self.probe(path, spec, phase, abort_condition, self._stale)

    def continuous_misses(self) -> list[str]:
        """One reason line per steady-state probe that missed during the method (continuous checks)."""
        with self._tally_lock:
            tallies = list(self._continuous.items())
        return [tally.line(label, "during the method") for label, tally in tallies if tally.misses]


__all__ = ["JOIN_S", "Monitor", "ProbeOnce"]
