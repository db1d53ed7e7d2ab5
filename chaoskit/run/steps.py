"""What the runner does in each step: observe (a probe), act (an action, maybe in the background), inject a fault
and hold it, pause; the steady-state check; starting and stopping the monitor thread; a dry run's plan.

Faults are pushed on and reverted from the :class:`~chaoskit.run.faults.FaultStack`; everything journaled goes
through the run's :class:`~chaoskit.run.state.RunState`. The steps see the run only through
:class:`~chaoskit.run.view.RunView` (no import of the runner)."""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from chaoskit.conditions import describe as describe_condition
from chaoskit.errors import ChaosKitError, StepFailed
from chaoskit.model.experiment import ProbeSpec, Step
from chaoskit.model.journal import ActivityRecord, FaultRecord, ObservationRecord, Phase
from chaoskit.model.tolerance import Expect, Observation
from chaoskit.plugin import Action, Fault, Probe
from chaoskit.redaction import scrub, scrub_text
from chaoskit.run.faults import FaultStack
from chaoskit.run.monitor import Monitor
from chaoskit.timeouts import NO_DEADLINE, Deadline, call_with_timeout, sleep

if TYPE_CHECKING:
    from chaoskit.run.view import RunView


_UNJOURNALED = ("body", "headers")  # what tolerances may check but journals do not keep (size, cookies)
_NOTHING = Observation(None)  # what a probe that failed saw (frozen: one for every such probe)
# The records' own validators, called with a dict: what ``Model(**fields)`` does without pydantic's Python-level
# __init__ around it (8k of 30k instructions per observation; one of each record is made for every activity).
_new_observation = ObservationRecord.__pydantic_validator__.validate_python
_new_activity = ActivityRecord.__pydantic_validator__.validate_python


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return repr(value)


class Steps:
    def __init__(self, runner: RunView, faults: FaultStack) -> None:
        self.r = runner
        self.faults = faults
        self._background: list[threading.Thread] = []
        self.monitor = Monitor(
            self.probe,
            runner.exp.safety,
            runner.exp.steady_state,
            runner.state.request_abort,
            runner.state.record_error,
            runner.state.lock,
        )

    # -- probes ------------------------------------------------------------------------------
    def observe(
        self,
        path: str,
        name: str,
        plugin_name: str,
        timeout: float,
        expect: Expect | None,
        phase: str,
        deadline: Deadline | None = None,
        abort_condition: bool = False,
        stale: threading.Event | None = None,
    ) -> ObservationRecord:
        """Run one probe. A probe that raises or times out is an observation that failed (ok=False).
        An ``abort_condition`` (safety.abort_when) is worded as one: ``triggered`` when its expect matches,
        and ``ok`` when it does not (see :mod:`chaoskit.conditions`). When ``stale`` is set by the time the
        probe returns (the monitor was stopped and abandoned it), the record is returned but not added to
        the journal."""
        r = self.r
        probe = r.registry.instance("probe", plugin_name)
        assert isinstance(probe, Probe)
        params = r.loaded.params[path]
        r.emit("chaoskit_activity_started", kind="probe", name=name, phase=phase)
        started, t0 = time.time(), time.perf_counter()
        error: str | None = None
        obs = _NOTHING
        try:
            obs = call_with_timeout(
                lambda: probe.observe(params, r.ctx), timeout, f"probe {name}", deadline or r.deadline
            )
        except Exception as exc:
            error = scrub_text(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ChaosKitError) else str(exc))
        duration = time.perf_counter() - t0
        ok: bool | None = None
        triggered: bool | None = None
        reason = ""
        if abort_condition and expect is not None:
            triggered = error is None and expect.evaluate_observation(obs).ok
            ok, reason = not triggered, describe_condition(expect, name, obs, triggered, error)
        elif error is not None:
            ok, reason = False, f"probe failed: {error}"
        elif expect is not None:
            verdict = expect.evaluate_observation(obs)
            ok, reason = verdict.ok, verdict.reason
            if phase == Phase.RECOVERY and verdict.no_data:
                # no data yet after the revert: neither a miss nor a pass (recovery polls on, within its deadline)
                ok, reason = None, f"pending, no data yet: {reason}"
        details = obs.details
        record: ObservationRecord = _new_observation(
            {
                "probe": name,
                "plugin": plugin_name,
                "phase": phase,
                "started_at": started,
                "duration_s": round(duration, 6),
                "ok": ok,
                "triggered": triggered,
                "reason": reason,
                "value": scrub(_jsonable(obs.value)),
                "details": scrub({k: _jsonable(v) for k, v in details.items() if k not in _UNJOURNALED})
                if details
                else {},
                "error": error,
            }
        )
        if r.state.observe(record, stale):
            r.emit("chaoskit_activity_finished", kind="probe", record=record)
        return record

    def probe(
        self,
        path: str,
        spec: ProbeSpec,
        phase: str,
        abort_condition: bool = False,
        stale: threading.Event | None = None,
    ) -> ObservationRecord:
        """:meth:`observe` a declared probe (steady state, ``abort_when``); with ``stale`` (the monitor's) it
        runs with no deadline: the monitor is abandoned at the deadline instead."""
        deadline = None if stale is None else NO_DEADLINE
        return self.observe(
            path, spec.label, spec.probe, spec.timeout, spec.expect, phase, deadline, abort_condition, stale
        )

    def check_steady_state(self, phase: str) -> tuple[bool, str, list[ObservationRecord]]:
        """Run every steady-state probe once: did all hold, why not, and their records."""
        misses, records = [], []
        for i, spec in enumerate(self.r.exp.steady_state.probes):
            rec = self.probe(f"steady_state.probes[{i}]", spec, phase)
            records.append(rec)
            if not rec.ok:
                misses.append(f"{spec.label}: {rec.reason}")
        return not misses, "; ".join(misses), records

    # -- the monitor thread (chaoskit.run.monitor) ---------------------------------------------
    def start_monitor(self, continuous: bool) -> None:
        self.monitor.start(continuous)

    def stop_monitor(self, wait: bool = False) -> None:
        self.monitor.stop(self.r.deadline, wait)

    def continuous_misses(self) -> list[str]:
        return self.monitor.continuous_misses()

    # -- steps -------------------------------------------------------------------------------
    def step(self, path: str, step: Step, under_deadline: bool = True) -> None:
        deadline = self.r.deadline if under_deadline else NO_DEADLINE
        kind = step.kind  # a property that looks at each kind's field: once per step
        if kind == "pause":
            assert step.pause is not None
            self.hold(step.pause, step.label, deadline)
        elif kind == "probe":
            assert step.probe is not None
            label = step.label
            rec = self.observe(path, label, step.probe, step.timeout, step.expect, Phase.METHOD, deadline)
            if step.expect is not None and not rec.ok:
                self.r.state.deviate(f"{label}: {rec.reason}")
        elif kind == "action":
            if step.background:
                thread = threading.Thread(
                    target=self._background_action,
                    args=(path, step, deadline),
                    name=f"chaoskit: {step.label}",
                    daemon=True,
                )
                thread.start()
                self._background.append(thread)
            elif path.startswith("method"):
                try:
                    self.action(path, step, deadline)
                except Exception as exc:
                    self.method_step_failed(path, step, exc)
            else:
                self.action(path, step, deadline)
        else:
            self.fault(path, step)

    def _describe(self, exc: Exception) -> str:
        text = scrub_text(str(exc))
        return text if isinstance(exc, ChaosKitError) else f"{type(exc).__name__}: {text}"

    def method_step_failed(self, path: str, step: Step, exc: Exception) -> None:
        """A method action failed: ``on_error: stop`` ends the run as error, naming the step; ``continue``
        records the failure (journal errors, the activity, the reason) and lets the method go on."""
        r = self.r
        what = self._describe(exc)
        if step.on_error == "continue":
            r.state.record_error(path, exc)
            r.state.note(f"{path} ({step.label}) failed, the method went on (on_error: continue): {what}")
            return
        raise StepFailed(f"{path} ({step.label}) failed: {what}") from exc

    def action(self, path: str, step: Step, deadline: Deadline) -> Any:
        r = self.r
        assert step.action is not None
        plugin = r.registry.instance("action", step.action)
        assert isinstance(plugin, Action)
        params = r.loaded.params[path]
        phase = r.state.current_phase() or Phase.METHOD
        label = step.label
        record: ActivityRecord = _new_activity(
            {"name": label, "plugin": step.action, "phase": phase, "started_at": time.time()}
        )
        r.state.add_activity(record)
        r.emit("chaoskit_activity_started", kind="action", name=label, phase=phase)
        try:
            result = call_with_timeout(lambda: plugin.run(params, r.ctx), step.timeout, f"action {label}", deadline)
            record.result = scrub(_jsonable(result))
            return result
        except Exception as exc:
            record.error = scrub_text(str(exc))
            raise
        finally:
            record.ended_at = time.time()
            r.state.end_activity(record)
            r.emit("chaoskit_activity_finished", kind="action", record=record)

    def _background_action(self, path: str, step: Step, deadline: Deadline) -> None:
        try:
            self.action(path, step, deadline)
        except BaseException as exc:
            self.r.state.record_error(path, exc)
            if step.on_error == "continue":
                self.r.state.note(f"{path} ({step.label}) failed (on_error: continue): {scrub_text(str(exc))}")
            else:
                self.r.state.deviate(f"background action {step.label} failed: {scrub_text(str(exc))}")

    def fault(self, path: str, step: Step) -> None:
        r = self.r
        assert step.fault is not None
        plugin = r.registry.instance("fault", step.fault)
        assert isinstance(plugin, Fault)
        params = r.loaded.params[path]
        r.emit("chaoskit_activity_started", kind="fault", name=step.label, phase=Phase.METHOD)
        r.ensure_guardian()
        ctx = dataclasses.replace(r.ctx, timeout=step.timeout)  # the same cancel event as the run's
        try:
            info = call_with_timeout(
                lambda: plugin.plan(params, ctx), step.timeout, f"planning {step.label}", r.deadline
            )
        except Exception as exc:
            raise StepFailed(f"{path} ({step.label}) could not be planned: {self._describe(exc)}") from exc
        record = FaultRecord(
            name=step.label,
            plugin=step.fault,
            params=r.loaded.shown_params(path),
            ledger_id=f"{path}-{uuid.uuid4().hex[:8]}",
            revert_info=info,
            target=plugin.describe(info),
        )
        try:
            self.faults.inject(plugin, record, params, ctx, step.timeout, r.deadline, step.duration)
        except Exception as exc:  # a fault that fails to inject is an error (on_error does not apply)
            raise StepFailed(f"{path} ({step.label}) failed to inject: {self._describe(exc)}") from exc
        finally:
            r.emit("chaoskit_activity_finished", kind="fault", record=record)
        r.emit("chaoskit_fault_injected", fault=record)
        if step.duration is not None and not step.background:
            self.hold(step.duration, step.label, r.deadline)

    def hold(self, seconds: float, label: str, deadline: Deadline) -> None:
        """Wait ``seconds`` while reverting faults whose duration ends; wake on abort."""
        r = self.r
        r.emit("chaoskit_waiting", what=label, seconds=seconds)
        end = time.monotonic() + seconds
        while True:
            self.faults.revert_expired()
            r.check_abort()
            now = time.monotonic()
            if now >= end:
                return
            wake = min([end, *self.faults.expiries(injected_only=True)])
            sleep(max(0.0, wake - now), r.state.abort, deadline)

    def finish_method(self) -> None:
        """The method's steps are done: wait for background actions and for faults still holding."""
        for thread in self._background:
            while thread.is_alive():
                thread.join(timeout=0.2)
                self.r.check_abort()
        holding = self.faults.expiries()
        if holding:
            self.hold(max(0.0, max(holding) - time.monotonic()), "faults holding", self.r.deadline)

    # -- dry run -----------------------------------------------------------------------------
    def dry_run(self) -> None:
        """Resolve every fault's targets (``plan``) and record what would be touched; inject nothing."""
        r = self.r
        for i, step in enumerate(r.exp.method):
            if step.kind != "fault":
                continue
            path = f"method[{i}]"
            assert step.fault is not None
            plugin = r.registry.instance("fault", step.fault)
            assert isinstance(plugin, Fault)
            params = r.loaded.params[path]
            plan = functools.partial(plugin.plan, params, dataclasses.replace(r.ctx, timeout=step.timeout))
            info = call_with_timeout(plan, step.timeout, f"planning {step.label}", r.deadline)
            record = FaultRecord(
                name=step.label,
                plugin=step.fault,
                params=r.loaded.shown_params(path),
                ledger_id="dry-run",
                revert_info=info,
                target=plugin.describe(info),
            )
            r.state.add_fault(record)
            r.state.add_activity(
                ActivityRecord(
                    name=step.label,
                    plugin=step.fault,
                    phase=Phase.DRY_RUN,
                    started_at=time.time(),
                    ended_at=time.time(),
                    result=f"would inject: {plugin.describe(info)}",
                )
            )
