"""The run: baseline, method, reverts, recovery, rollbacks -- and the journal, on every path out.

The flow (see docs/architecture.md)::

    load (optional) -> warm-up -> steady state BEFORE (miss => baseline-not-met, nothing injected)
    -> method (faults: ledger entry, inject, hold; probes keep running in a monitor thread)
    -> revert every fault, last in first out -> recovery (poll until the steady state holds again)
    -> rollbacks -> stop load -> journal

Recovery comes before the rollbacks: the system must heal by itself once the faults are reverted; a
rollback (a cleanup action) that heals it must not hide a system that does not.

Reverts run in a ``finally`` with signals shielded, so success, deviation, error, abort,
``safety.max_duration``, Ctrl-C and SIGTERM all leave nothing injected behind.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from chaoskit import __version__
from chaoskit.early import take_pending
from chaoskit.errors import AbortRun, ChaosKitError, GuardianLost, Interrupted, SafetyStop
from chaoskit.hooks import make_manager
from chaoskit.journalfile import ObservationSink
from chaoskit.ledger import Ledger, dump_json
from chaoskit.loader import Loaded
from chaoskit.model.journal import Journal, Phase, PhaseRecord
from chaoskit.model.outcome import Ending, Outcome, decide
from chaoskit.plugin import Context
from chaoskit.preflight import plugins_used
from chaoskit.record import field, record
from chaoskit.redaction import scrub_model, scrub_text
from chaoskit.registry import Registry, default_registry
from chaoskit.run import halt
from chaoskit.run.events import Emit, Events
from chaoskit.run.faults import FaultStack
from chaoskit.run.load import Load
from chaoskit.run.state import RunState
from chaoskit.run.steps import Steps
from chaoskit.run.watch import Watch
from chaoskit.signals import SignalGuard, raise_signal
from chaoskit.timeouts import Deadline, sleep


@record
class RunOptions:
    out_dir: Path = Path("chaoskit-runs")
    dry_run: bool = False
    ledger_dir: Path | None = None
    hooks: list[Any] = field(default_factory=list)
    hook_entry_points: bool = True
    handle_signals: bool = True
    run_dir: Path | None = None
    """Write the journal here instead of a new folder under ``out_dir``."""
    tracer_provider: Any = None
    """An OpenTelemetry TracerProvider to record the run's trace with (default: chaoskit's own)."""


class Runner:
    def __init__(self, loaded: Loaded, options: RunOptions | None = None, registry: Registry | None = None) -> None:
        self.loaded = loaded
        self.exp = loaded.experiment
        self.options = options or RunOptions()
        self.registry = registry or default_registry()
        self.run_id = uuid.uuid4().hex[:12]
        self.journal = Journal(
            run_id=self.run_id,
            chaoskit_version=__version__,
            title=self.exp.title,
            source=loaded.source,
            experiment=loaded.redacted,
            dry_run=self.options.dry_run,
            started_at=time.time(),
        )
        # Observations stream to the run folder as they come (chaoskit.journalfile): memory stays flat.
        self.observations = ObservationSink(self.run_dir, self.record_error)
        self.state = RunState(self.journal, self.observations)  # before the hooks: the tracer may record an error
        # A plugin's hooks come only with an experiment that uses the plugin (see Registry.wanted_hooks).
        wanted = self.registry.wanted_hooks(plugins_used(loaded)) if self.options.hook_entry_points else None
        # chaoskit's own hooks (the trace recorder, the journal stream) are called inline: local files, bounded.
        own = [*self._tracer(), *([] if self.options.dry_run else [self.observations])]
        self.hooks = make_manager([*own, *self.options.hooks], self.options.hook_entry_points, wanted)
        self.events = Events(self.hooks, self.journal, self.record_error, own, self.exp.safety.revert_timeout)
        self.emit: Emit = self.events.emit
        """Call every implementation of a hook (:meth:`chaoskit.run.events.Events.emit`; no wrapper in between)."""
        self.guard = SignalGuard()
        self.deadline = Deadline(self.exp.safety.max_duration)
        self.abort = self.state.abort
        self.ledger = Ledger.create(self.run_id, self.exp.title, self.options.ledger_dir)
        self.ending = Ending(dry_run=self.options.dry_run, ledger=str(self.ledger.path))
        work_dir = Path(loaded.source).resolve().parent if loaded.source else Path.cwd()
        self.ctx = Context(
            run_id=self.run_id,
            dry_run=self.options.dry_run,
            configuration=loaded.configuration,
            sections=loaded.sections,
            work_dir=work_dir,
            headers=self._propagation_headers,
        )
        self.faults = FaultStack(
            self.state, self.ledger, self.guard, self.ctx, self.exp.safety.revert_timeout, self.emit
        )
        self.steps = Steps(self, self.faults)
        self.events.holding = lambda: bool(self.faults.active)
        self._rollbacks_done = False
        self.load = Load(self.registry, loaded, self.ctx, self.state, self.emit)
        self.watch = Watch(self.run_id, self.exp.title, self.request_abort, self._guardian_lost)

    # -- hooks -------------------------------------------------------------------------------
    def _tracer(self) -> list[Any]:
        """The trace recorder when ``tracing.enabled`` (registered first: its run_finished hook writes the
        trace and records export errors before other hooks report them)."""
        if not self.exp.tracing.enabled:
            return []
        from chaoskit.tracing import run_tracer

        try:
            return [run_tracer(self.exp.tracing, self.run_dir, self.record_error, self.options.tracer_provider)]
        except Exception as exc:  # tracing never stops a run
            self.record_error("tracing setup", exc)
            return []

    def _propagation_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for result in self.emit("chaoskit_propagation_headers"):
            if result:
                headers.update(result)
        return headers

    def record_error(self, where: str, exc: BaseException) -> None:
        """Add an error to the journal, once (see :meth:`RunState.record_error`); from any thread."""
        self.state.record_error(where, exc)

    def redact(self, text: str) -> str:
        return scrub_text(text)

    # -- phases ------------------------------------------------------------------------------
    def phase_start(self, name: str) -> PhaseRecord:
        record = PhaseRecord(name=name, started_at=time.time())
        self.state.add_phase(record)
        self.emit("chaoskit_phase_started", phase=name)
        return record

    def phase_end(self, record: PhaseRecord) -> None:
        record.ended_at = time.time()
        self.emit("chaoskit_phase_finished", phase=record.name)

    def _stop(self, outcome: Outcome, reason: str) -> None:
        """The run is cut short (interrupted, aborted, error); :func:`decide` gives this precedence."""
        self.ending.stopped = (outcome, reason)

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> Journal:
        with self.guard.installed(self.options.handle_signals):
            self.events.wall = self.deadline  # hooks called from here on are cut by safety.max_duration
            self.events.owner = threading.current_thread()
            try:
                if (early := take_pending()) is not None and self.options.handle_signals:
                    raise_signal(early)  # a signal that came while chaoskit was loading
                if not self.options.dry_run and (halted := halt.current()) is not None:
                    raise AbortRun(halted.refusal())  # before any hook prepares anything
                if not self.options.dry_run:
                    self._start_watch()
                self.emit("chaoskit_run_started", fatal=True)
                self._execute()
            except (KeyboardInterrupt, Interrupted) as exc:
                name = exc.signame if isinstance(exc, Interrupted) else "SIGINT (Ctrl-C)"
                started = bool(self.journal.phases or self.journal.faults)
                self._stop(
                    Outcome.INTERRUPTED,
                    f"interrupted by {name}; faults reverted"
                    if started
                    else f"interrupted by {name} before start; nothing was injected",
                )
            except SafetyStop:
                self._aborted(f"safety.max_duration ({self.exp.safety.max_duration:g}s) reached")
            except AbortRun as exc:
                self._aborted(str(exc))
            except Exception as exc:
                self.record_error("run", exc)
                self._stop(
                    Outcome.ERROR,
                    self.redact(str(exc))
                    if isinstance(exc, ChaosKitError)
                    else f"{type(exc).__name__}: {self.redact(str(exc))}",
                )
            finally:
                self.guard.shielded = True
                self.events.wall = None  # hooks from here on are bounded by their grace, never by SafetyStop
                self._finish()
        return self.journal

    def _aborted(self, reason: str) -> None:
        self._stop(Outcome.ABORTED, reason)
        self.events.wall = None  # an aborted hook that hangs must not raise SafetyStop out of the run
        self.emit("chaoskit_aborted", reason=reason)

    def _finish(self) -> None:
        self.steps.stop_monitor()
        if self.faults.active:
            self._revert_phase()
        if not self._rollbacks_done and not self.options.dry_run:
            self._rollbacks()
        self._stop_load()
        self.state.seal()
        ending = self.ending
        ending.deviations = [*self.steps.continuous_misses(), *self.state.deviations]
        ending.ttr_s, ending.notes = self.journal.ttr_s, self.state.continued
        ending.revert_failed = [f.name for f in self.journal.faults if f.revert_error]
        ending.ignored_signals = list(self.guard.ignored)
        self.journal.outcome, self.journal.reason = decide(ending)
        self.journal.ended_at = time.time()
        self.journal.exit_code = self.journal.outcome.exit_code
        clean = self.options.dry_run or self.ledger.close_if_clean()
        self.watch.stop(handoff=not clean and self.faults.handoff_needed())
        self.journal.observations = self.observations.observations()  # back from the stream, for the end
        scrub_model(self.journal)  # what hooks, reports, summaries and pytest show from here on
        self.emit("chaoskit_run_finished")
        self.write_journal()

    def run_dir(self) -> Path:
        if self.options.run_dir is not None:
            return self.options.run_dir
        slug = re.sub(r"[^a-z0-9]+", "-", self.exp.title.lower()).strip("-")[:40] or "run"
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.journal.started_at))
        return self.options.out_dir / f"{stamp}-{slug}-{self.run_id[:6]}"

    def write_journal(self) -> Path:
        path = self.run_dir() / "journal.json"
        self.journal.artifacts.setdefault("journal", str(path))
        dump_json(path, self.journal)
        self.observations.remove()
        return path

    def _execute(self) -> None:
        exp = self.exp
        if self.options.dry_run:
            self.steps.dry_run()
            return
        if self.loaded.load_params is not None:
            self._start_load()
        steady = exp.steady_state
        if steady.strategy != "skip":
            self.check_abort()
            phase = self.phase_start(Phase.BASELINE)
            try:
                ok, why, _ = self.steps.check_steady_state(Phase.BASELINE)
            finally:
                self.phase_end(phase)
            if not ok:
                self.ending.baseline_missed = why
                return
        self.check_abort()
        phase = self.phase_start(Phase.METHOD)
        try:
            self.steps.start_monitor(continuous=steady.strategy == "continuous")
            for i, step in enumerate(exp.method):
                self.check_abort()
                self.steps.step(f"method[{i}]", step)
            self.steps.finish_method()
            self.check_abort()
            self.steps.stop_monitor(wait=True)
        finally:
            self.steps.stop_monitor()
            self.phase_end(phase)
        self._revert_phase()
        if steady.strategy in ("default", "continuous"):
            # before the rollbacks: the system heals by itself or not at all
            self.ending.recovered = self._recovery()
        self._rollbacks()

    # -- halt and guardian -------------------------------------------------------------------
    def _start_watch(self) -> None:
        """The run's safety net (:mod:`chaoskit.run.watch`): a halt from now on aborts the run; the guardian when
        the run can change anything."""
        guarded = self.loaded.sections or any(step.kind == "fault" for step in self.exp.method)
        self.watch.start(
            self.journal.started_at, self.run_dir(), (self.ledger.path, self.exp.safety.guardian) if guarded else None
        )

    def _guardian_lost(self, message: str) -> None:
        self.record_error("guardian", GuardianLost(message))

    def request_abort(self, reason: str) -> None:
        """Stop the run as ``aborted`` (a halt, an abort condition): waits wake up, the method stops."""
        self.state.request_abort(reason)

    def ensure_guardian(self) -> None:
        """Make sure the guardian is up (before a fault's first inject), unless ``safety.guardian.enabled`` is off."""
        self.watch.ensure_guardian(self.ledger.path, self.run_dir(), self.exp.safety.guardian)

    def check_abort(self) -> None:
        if self.abort.is_set():
            raise AbortRun(self.state.abort_reason)
        self.deadline.check()

    def _revert_phase(self) -> None:
        """Revert every fault with signals shielded, so a Ctrl-C cannot cut a revert in half. On the normal
        path a signal that arrived meanwhile takes effect once the reverts are done."""
        with self.guard.deferred():
            phase = self.phase_start(Phase.REVERT)
            try:
                self.faults.revert_all()
            finally:
                self.phase_end(phase)
                reverted = [f.reverted_at for f in self.journal.faults if f.reverted_at is not None]
                self.ctx.observed_since = max(reverted, default=None)

    def _recovery(self) -> bool:
        rec = self.exp.recovery
        phase = self.phase_start(Phase.RECOVERY)
        start = time.monotonic()
        missed = False  # a real miss so far (a sample with no data yet is pending: neither a miss nor a pass)
        try:
            while True:
                if self.abort.is_set():  # a halt: the faults are reverted already
                    raise AbortRun(self.state.abort_reason)
                polled = time.monotonic()
                ok, why, records = self.steps.check_steady_state(Phase.RECOVERY)
                missed = missed or any(o.ok is False for o in records)
                if ok:
                    # A probe that watched until its condition held (details.waited_s) saw the recovery later
                    # than the poll started: count that wait in the TTR. Polls that only lacked data do not
                    # count: the steady state was never seen broken after the revert.
                    waits = [o.details.get("waited_s") for o in records]
                    waited = max((float(w) for w in waits if isinstance(w, int | float)), default=0.0)
                    self.journal.ttr_s = round((polled - start if missed else 0.0) + waited, 3)
                    return True
                if time.monotonic() - start >= rec.within:
                    self.state.deviate(f"not recovered within {rec.within:g}s: {why}")
                    return False
                left = rec.within - (time.monotonic() - start)
                sleep(min(max(0.0, rec.interval - (time.monotonic() - polled)), left), self.abort, self.deadline)
        finally:
            self.phase_end(phase)

    def _rollbacks(self) -> None:
        self._rollbacks_done = True
        if not self.exp.rollbacks:
            return
        phase = self.phase_start(Phase.ROLLBACKS)
        try:
            for i, step in enumerate(self.exp.rollbacks):
                path = f"rollbacks[{i}]"
                try:
                    self.steps.step(path, step, under_deadline=False)
                except Exception as exc:
                    self.record_error(path, exc)
                    if self.ending.rollback_failed is None:
                        self.ending.rollback_failed = f"rollback {step.label} failed: {self.redact(str(exc))}"
        finally:
            self.phase_end(phase)

    # -- load --------------------------------------------------------------------------------
    def _start_load(self) -> None:
        phase = self.phase_start(Phase.WARMUP)
        try:
            self.load.start(self.deadline, self.abort)
        finally:
            self.phase_end(phase)

    def _stop_load(self) -> None:
        windows = [p.model_dump() for p in self.journal.phases] + [
            {"name": f"fault:{f.name}", "started_at": f.injected_at, "ended_at": f.reverted_at}
            for f in self.journal.faults
            if f.injected_at is not None
        ]
        failed = self.load.stop(windows)
        if failed is not None and self.ending.load_failed is None:
            self.ending.load_failed = failed


def run_experiment(loaded: Loaded, options: RunOptions | None = None, registry: Registry | None = None) -> Journal:
    """Run a validated experiment and return its journal (also written to disk)."""
    return Runner(loaded, options, registry).run()


__all__ = ["AbortRun", "RunOptions", "Runner", "run_experiment"]
