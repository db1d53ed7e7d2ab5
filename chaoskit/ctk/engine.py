"""CTK's run rules (chaoslib 1.45 / chaostoolkit 1.21), kept apart from the native runner.

The sequence, as CTK plays it::

    hypothesis before (strategies default, before-method-only, continuously)
      -> not met: skip the method; status "failed" if a probe failed, else "completed"
    [continuous hypothesis in a thread, every frequency seconds: during-method-only, continuously]
    method: every activity, a failure recorded and the method goes on (background ones in threads);
      an unexpected error: status "aborted"; a fail-fast deviation during the method: status "failed", stop
    hypothesis after (default, after-method-only, continuously) -> not met: deviated
    rollbacks by strategy: default (unless failed/interrupted), always, never, deviated
    then, whatever happened: every fault still in the ledger (injected through a mapped extension) reverted

Ctrl-C and SIGTERM set status "interrupted"; the ledger sweep still runs, with signals shielded.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaoskit.ctk.journal import CtkJournal
from chaoskit.ctk.load import LoadedCtk
from chaoskit.ctk.model import Activity
from chaoskit.ctk.providers import ActivityFailed, CallContext, dynamic_configuration, run_provider
from chaoskit.ctk.tolerance import ToleranceError, within_tolerance
from chaoskit.ctk.trace import CtkTrace
from chaoskit.ctk.values import substitute
from chaoskit.ctk.watch import Halted, Watch
from chaoskit.errors import Interrupted
from chaoskit.signals import SignalGuard
from chaoskit.timeouts import sleep


@dataclass
class CtkOptions:
    rollback_strategy: str | None = None
    """CLI override; else the experiment's ``runtime``; else default."""
    hypothesis_strategy: str | None = None
    frequency: float = 1.0
    fail_fast: bool = False
    dry: str | None = None
    handle_signals: bool = True
    ledger_dir: Path | None = None
    out_dir: Path | None = None
    """chaoskit's journal, report and trace go to ``out_dir/ctk-<run id>`` (None: no trace)."""
    progress: Callable[[str], None] | None = None
    """Told one line per activity as it ends (live progress on the terminal)."""


@dataclass
class _State:
    status: str | None = None
    deviated: bool = False
    gate_failed: bool = False
    fail_fast_stop: bool = False
    halted: bool = False
    errors: list[str] = field(default_factory=list)


class CtkRun:
    def __init__(self, loaded: LoadedCtk, options: CtkOptions | None = None) -> None:
        from chaoskit.ctk.extensions import Extensions

        self.loaded = loaded
        self.exp = loaded.experiment
        self.options = options or CtkOptions()
        runtime_rollbacks, runtime_hypothesis = self.exp.strategies()
        self.rollback_strategy = self.options.rollback_strategy or runtime_rollbacks
        strategy = self.options.hypothesis_strategy or runtime_hypothesis
        self.strategy = strategy.replace("continously", "continuously")
        self.state = _State()
        self.guard = SignalGuard()
        self.journal = CtkJournal(loaded)
        self.journal.data["experiment"]["dry"] = self.options.dry
        out_dir = self.options.out_dir
        self.trace = CtkTrace(
            self.exp.title, loaded.source, self.journal.data["experiment"], self.run_dir if out_dir else None
        )
        self.journal.run_id = self.trace.run_id
        self.watch = Watch(self.trace.run_id, self.exp.title)
        self.extensions = Extensions(loaded, self.options.ledger_dir, self.trace.run_id, self.trace.fault)
        self.extensions.before_first_fault = lambda ledger: self.watch.ensure_guardian(
            ledger, self.run_dir() if out_dir else None
        )
        self.calls = CallContext(
            loaded.configuration,
            loaded.secrets,
            loaded.work_dir,
            self.extensions.call,
            self.extensions.modules(),
        )
        self._lock = threading.Lock()

    def run_dir(self) -> Path:
        assert self.options.out_dir is not None
        return self.options.out_dir / f"ctk-{self.trace.run_id}"

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> CtkJournal:
        started = time.time()
        self.trace.started()
        refusal = self.watch.refusal()
        if refusal is not None:
            self.state.status, self.state.halted = "aborted", True
            self.state.errors.append(refusal)
        else:
            self._guarded(started)
        status = (
            self.state.status if self.state.status in ("completed", "failed", "aborted", "interrupted") else "completed"
        )
        self.journal.finish(status, self.state.deviated, started, self.state.errors, self.extensions.records)
        self.journal.gate_failed = self.state.gate_failed
        self.journal.halted = self.state.halted
        self.journal.fail_fast_stop = self.state.fail_fast_stop
        self.journal.signals_ignored = list(self.guard.ignored)
        self.trace.finished(self.journal.outcome, self.journal.reason)
        self.journal.errors.extend(self.trace.errors)
        self.journal.trace_id = self.trace.journal.trace_id
        self.journal.artifacts.update(self.trace.journal.artifacts)
        self.journal.refresh()
        return self.journal

    def _guarded(self, started: float) -> None:
        self.watch.start(started, self.run_dir() if self.options.out_dir else None)
        with self.guard.installed(self.options.handle_signals):
            try:
                self._dynamic_configuration()
                self._sequence()
            except KeyboardInterrupt:
                self._interrupted("SIGINT (Ctrl-C)")
            except Interrupted as exc:
                self._interrupted(exc.signame)
            finally:
                self.guard.shielded = True
                self._revert_leftovers()
                self.watch.stop()
                self.state.errors.extend(f"guardian: {e}" for e in self.watch.errors)

    def _halted(self, exc: Halted) -> None:
        self.state.status, self.state.halted = "aborted", True
        self.state.errors.append(str(exc))

    def _dynamic_configuration(self) -> None:
        conf, errors = dynamic_configuration(self.exp.configuration, self.calls)
        self.calls.configuration = self.extensions.configuration = conf
        self.state.errors.extend(errors)

    def _interrupted(self, what: str) -> None:
        self.state.status = "interrupted"
        self.state.errors.append(f"interrupted by {what}")

    def _sequence(self) -> None:
        hypo = self.exp.steady_state_hypothesis
        with_ssh = self.strategy != "skip" and hypo is not None and bool(hypo.probes)
        stop_continuous = threading.Event()
        continuous: threading.Thread | None = None
        try:
            go_on = True
            if with_ssh and self.strategy in ("default", "before-method-only", "continuously"):
                go_on = self._gate()
            if go_on:
                if with_ssh and self.strategy in ("during-method-only", "continuously"):
                    continuous = threading.Thread(
                        target=self._continuously, args=(stop_continuous,), name="ctk hypothesis", daemon=True
                    )
                    continuous.start()
                ran = self._method()
                stop_continuous.set()
                if continuous is not None:
                    continuous.join()
                if (
                    self.state.status not in ("interrupted", "aborted")
                    and with_ssh
                    and ran
                    and self.strategy in ("default", "after-method-only", "continuously")
                ):
                    self._after()
        except (KeyboardInterrupt, Interrupted) as exc:
            self._interrupted("SIGINT (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else exc.signame)
        except Halted as exc:
            self._halted(exc)
        finally:
            stop_continuous.set()
            if continuous is not None:
                continuous.join(timeout=self.options.frequency + 60)
        self._rollbacks()

    # -- hypothesis ----------------------------------------------------------------------------------
    def hypothesis(self, phase: str) -> dict[str, Any]:
        """Run the probes, stopping at the first that fails or misses its tolerance (CTK's state shape)."""
        assert self.exp.steady_state_hypothesis is not None
        state: dict[str, Any] = {"steady_state_met": None, "probes": []}
        dry = self.options.dry in ("probes", "activities")
        for probe in self.exp.steady_state_hypothesis.probes:
            run = self.execute(probe, phase=phase, traced=False)
            state["probes"].append(run)
            met = self._tolerance(probe, run, dry, state)
            self.trace.activity_finished("probe", run, phase)
            self._report(phase, run)
            if not met:
                state["steady_state_met"] = False
                return state
        state["steady_state_met"] = True
        return state

    def _report(self, phase: str, run: dict[str, Any]) -> None:
        if self.options.progress is None:
            return
        activity = run.get("activity", {})
        met = run.get("tolerance_met")
        verdict = run.get("status", "?") + ("" if met is None else ", tolerance met" if met else ", tolerance NOT met")
        self.options.progress(f"{phase:<9} {activity.get('type', '?'):<6} {activity.get('name', '?')}: {verdict}")

    def _tolerance(self, probe: Activity, run: dict[str, Any], dry: bool, state: dict[str, Any]) -> bool:
        run["tolerance_met"] = run["status"] != "failed"
        if run["status"] == "failed" or dry:
            return bool(run["tolerance_met"])
        try:
            met = within_tolerance(
                probe.tolerance, run["output"], self.calls.configuration, self.calls.secrets, self._tolerance_probe
            )
        except ToleranceError as exc:
            run["tolerance_error"] = state["error"] = str(exc)
            met = False
        run["tolerance_met"] = met
        return met

    def _tolerance_probe(self, probe: dict[str, Any]) -> Any:
        return run_provider(Activity.model_validate(probe), self.calls)

    def _judge(self, state: dict[str, Any]) -> str:
        """CTK's status after a hypothesis that was not met; a tolerance chaoskit could not evaluate fails the run
        (CTK itself crashes there)."""
        if "error" in state:
            self.state.errors.append(state["error"])
            return "failed"
        return "failed" if any(p["status"] != "succeeded" for p in state["probes"]) else "completed"

    def _gate(self) -> bool:
        self.trace.phase("before", start=True)
        state = self.hypothesis("before")
        self.trace.phase("before", start=False)
        self.journal.data["steady_states"]["before"] = state
        if not state["steady_state_met"]:
            self.state.status = self._judge(state)
            self.state.gate_failed = True
            return False
        return True

    def _after(self) -> None:
        self.trace.phase("after", start=True)
        state = self.hypothesis("after")
        self.trace.phase("after", start=False)
        self.journal.data["steady_states"]["after"] = state
        if not state["steady_state_met"]:
            self.state.deviated = True
            self.state.status = self._judge(state)

    def _continuously(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                if self.state.status in ("failed", "interrupted", "aborted"):
                    break
                state = self.hypothesis("during")
                with self._lock:
                    self.journal.data["steady_states"]["during"].append(state)
                if not state["steady_state_met"] and self.options.fail_fast:
                    # CTK's --fail-fast has a ratio of 0: the first deviation stops the run
                    self.state.status = "failed"
                    self.state.fail_fast_stop = True
                    break
                stop.wait(self.options.frequency)
        except Halted as exc:
            self._halted(exc)
        except Exception as exc:  # CTK: an unexpected error in the continuous hypothesis aborts the run
            self.state.status = "aborted"
            self.state.errors.append(f"continuous hypothesis: {type(exc).__name__}: {exc}")

    # -- method and rollbacks ------------------------------------------------------------------------
    def _method(self) -> bool:
        runs: list[dict[str, Any]] = []
        self.journal.data["run"] = runs
        background = sum(1 for a in self.exp.method if a.background)
        pool = ThreadPoolExecutor(background) if background else None
        futures: list[Future[dict[str, Any]]] = []
        self.trace.phase("method", start=True)
        try:
            for activity in self.exp.method:
                if activity.background and pool is not None:
                    futures.append(pool.submit(self.execute, activity, runs, "method"))
                else:
                    self.execute(activity, runs, "method")
                if self.state.status in ("aborted", "failed", "interrupted"):
                    break
        except (KeyboardInterrupt, Interrupted):
            raise
        except Halted as exc:
            self._halted(exc)
            return False
        except Exception as exc:  # CTK: an unexpected error in the method aborts the run
            self.state.status = "aborted"
            self.state.errors.append(f"method: {type(exc).__name__}: {exc}")
            return False
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            self.trace.phase("method", start=False)
        return True

    def _rollbacks(self) -> None:
        strategy, status = self.rollback_strategy, self.state.status
        play = (
            strategy == "always"
            or (strategy == "default" and status not in ("failed", "interrupted"))
            or (strategy == "deviated" and self.state.deviated)
        )
        if not play:
            return
        runs: list[dict[str, Any]] = []
        self.journal.data["rollbacks"] = runs
        background = sum(1 for a in self.exp.rollbacks if a.background)
        pool = ThreadPoolExecutor(background) if background else None
        self.trace.phase("rollbacks", start=True)
        try:
            for activity in self.exp.rollbacks:
                if activity.background and pool is not None:
                    pool.submit(self.execute, activity, runs, "rollbacks")
                else:
                    self.execute(activity, runs, "rollbacks")
        except (KeyboardInterrupt, Interrupted) as exc:
            self._interrupted("SIGINT (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else exc.signame)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            self.trace.phase("rollbacks", start=False)

    def _revert_leftovers(self) -> None:
        for message in self.extensions.revert_all():
            self.state.errors.append(message)

    # -- one activity --------------------------------------------------------------------------------
    def execute(
        self, activity: Activity, runs: list[dict[str, Any]] | None = None, phase: str = "method", traced: bool = True
    ) -> dict[str, Any]:
        """CTK's execute_activity: pauses, the call, and the run record (appended to ``runs`` when it starts).
        ``traced``: report the end to the trace here (hypothesis probes do it once their tolerance is known)."""
        if phase != "rollbacks":
            self.watch.check()
        if activity.ref is not None:
            activity = self.exp.activities_by_name()[activity.ref]
        dry = self.options.dry
        is_dry = (
            dry == "activities"
            or (dry == "actions" and activity.type == "action")
            or (dry == "probes" and activity.type == "probe")
        )
        pauses = substitute(
            activity.pauses.model_dump(exclude_none=True) if activity.pauses else {},
            self.calls.configuration,
            self.calls.secrets,
        )
        self._pause(pauses.get("before"), dry, is_dry)
        start = datetime.now(UTC)
        run: dict[str, Any] = {
            "activity": activity.model_dump(mode="json", by_alias=True, exclude_unset=True),
            "output": None,
            "start": start.isoformat(),
        }
        if runs is not None:
            with self._lock:
                runs.append(run)
        kind = activity.type or "action"
        self.trace.activity_started(kind, activity.label, phase)
        try:
            run["output"] = None if is_dry else run_provider(activity, self.calls)
            run["status"] = "succeeded"
        except ActivityFailed as exc:
            run["status"] = "failed"
            run["exception"] = traceback.format_exception(type(exc), exc, None)
        finally:
            end = datetime.now(UTC)
            run["end"] = end.isoformat()
            run["duration"] = (end - start).total_seconds()
            if traced:
                self.trace.activity_finished(kind, run, phase)
                self._report(phase, run)
        self._pause(pauses.get("after"), dry, is_dry)
        return run

    def _pause(self, seconds: Any, dry: str | None, is_dry: bool) -> None:
        if seconds and dry != "pause" and not is_dry:
            sleep(float(seconds), stop=self.watch.halted)
