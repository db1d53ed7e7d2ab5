"""What the runner does in each step: observe, act, inject and hold faults, revert them, and the
monitor thread that keeps probing during the method (continuous steady state, ``safety.abort_when``)."""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chaoskit.conditions import describe as describe_condition
from chaoskit.errors import ChaosKitError, RevertFailed, StepFailed
from chaoskit.ledger import LedgerEntry
from chaoskit.model.experiment import Step
from chaoskit.model.journal import ActivityRecord, FaultRecord, ObservationRecord, Phase
from chaoskit.model.tolerance import Expect, Observation
from chaoskit.plugin import Action, Fault, Probe
from chaoskit.redaction import scrub
from chaoskit.run.monitor import Monitor
from chaoskit.timeouts import NO_DEADLINE, Call, Deadline, call_with_timeout, sleep, start_call

if TYPE_CHECKING:
    from chaoskit.run.view import RunView


INFLIGHT_WAIT_S = 1.0
"""How long a revert waits for the same fault's inject to return (with ``ctx.cancel`` set) before it reverts
anyway; that inject is then reverted again when it returns."""


@dataclass
class ActiveFault:
    plugin: Fault[Any]
    record: FaultRecord
    expires_at: float | None  # monotonic; None: held until the method ends
    inject_call: Call | None = None  # the inject, while it has not returned


_UNJOURNALED = ("body", "headers")  # what tolerances may check but journals do not keep (size, cookies)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return repr(value)


class Activities:
    def __init__(self, runner: RunView) -> None:
        self.r = runner
        self.active: list[ActiveFault] = []
        self.late: list[ActiveFault] = []
        """Reverted while their inject was still running: reverted again when it returns."""
        self._background: list[threading.Thread] = []
        self.monitor = Monitor(
            self.observe,
            runner.exp.safety,
            runner.exp.steady_state,
            runner.request_abort,
            runner.record_error,
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
        obs = Observation(None)
        try:
            obs = call_with_timeout(
                lambda: probe.observe(params, r.ctx), timeout, f"probe {name}", deadline or r.deadline
            )
        except Exception as exc:
            error = r.redact(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ChaosKitError) else str(exc))
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
        record = ObservationRecord(
            probe=name,
            plugin=plugin_name,
            phase=phase,
            started_at=started,
            duration_s=round(duration, 6),
            ok=ok,
            triggered=triggered,
            reason=reason,
            value=scrub(_jsonable(obs.value)),
            details=scrub({k: _jsonable(v) for k, v in obs.details.items() if k not in _UNJOURNALED}),
            error=error,
        )
        if r.state.observe(record, stale):
            r.emit("chaoskit_activity_finished", kind="probe", record=record)
        return record

    def check_steady_state(self, phase: str) -> tuple[bool, str, list[ObservationRecord]]:
        """Run every steady-state probe once: did all hold, why not, and their records."""
        misses, records = [], []
        for i, spec in enumerate(self.r.exp.steady_state.probes):
            rec = self.observe(f"steady_state.probes[{i}]", spec.label, spec.probe, spec.timeout, spec.expect, phase)
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
        if step.kind == "pause":
            assert step.pause is not None
            self.hold(step.pause, step.label, deadline)
        elif step.kind == "probe":
            assert step.probe is not None
            rec = self.observe(path, step.label, step.probe, step.timeout, step.expect, Phase.METHOD, deadline)
            if step.expect is not None and not rec.ok:
                self.r.state.deviate(f"{step.label}: {rec.reason}")
        elif step.kind == "action":
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
        text = self.r.redact(str(exc))
        return text if isinstance(exc, ChaosKitError) else f"{type(exc).__name__}: {text}"

    def method_step_failed(self, path: str, step: Step, exc: Exception) -> None:
        """A method action failed: ``on_error: stop`` ends the run as error, naming the step; ``continue``
        records the failure (journal errors, the activity, the reason) and lets the method go on."""
        r = self.r
        what = self._describe(exc)
        if step.on_error == "continue":
            r.record_error(path, exc)
            r.state.note(f"{path} ({step.label}) failed, the method went on (on_error: continue): {what}")
            return
        raise StepFailed(f"{path} ({step.label}) failed: {what}") from exc

    def action(self, path: str, step: Step, deadline: Deadline) -> Any:
        r = self.r
        assert step.action is not None
        plugin = r.registry.instance("action", step.action)
        assert isinstance(plugin, Action)
        params = r.loaded.params[path]
        phase = r.journal.phases[-1].name if r.journal.phases else Phase.METHOD
        record = ActivityRecord(name=step.label, plugin=step.action, phase=phase, started_at=time.time())
        r.state.add_activity(record)
        r.emit("chaoskit_activity_started", kind="action", name=step.label, phase=phase)
        try:
            result = call_with_timeout(
                lambda: plugin.run(params, r.ctx), step.timeout, f"action {step.label}", deadline
            )
            record.result = scrub(_jsonable(result))
            return result
        except Exception as exc:
            record.error = r.redact(str(exc))
            raise
        finally:
            record.ended_at = time.time()
            r.emit("chaoskit_activity_finished", kind="action", record=record)

    def _background_action(self, path: str, step: Step, deadline: Deadline) -> None:
        try:
            self.action(path, step, deadline)
        except BaseException as exc:
            self.r.record_error(path, exc)
            if step.on_error == "continue":
                self.r.state.note(f"{path} ({step.label}) failed (on_error: continue): {self.r.redact(str(exc))}")
            else:
                self.r.state.deviate(f"background action {step.label} failed: {self.r.redact(str(exc))}")

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
        entry_id = f"{path}-{uuid.uuid4().hex[:8]}"
        record = FaultRecord(
            name=step.label,
            plugin=step.fault,
            params=r.loaded.shown_params(path),
            ledger_id=entry_id,
            revert_info=info,
            target=plugin.describe(info),
        )
        # On the stack before inject: a fault cut short halfway is reverted too. Ledger entry and stack change
        # together (a signal waits), so no entry is left "planned" that the run does not know to revert.
        expires = None if step.duration is None else time.monotonic() + step.duration
        active = ActiveFault(plugin, record, expires)
        with r.guard.deferred():
            r.state.add_fault(record)
            r.ledger.add(LedgerEntry(id=entry_id, plugin=step.fault, name=step.label, info=info))
            self.active.append(active)
            active.inject_call = start_call(lambda: plugin.inject(params, info, ctx), f"injecting {step.label}")
        try:
            new_info = active.inject_call.result(step.timeout, r.deadline)
        except BaseException as exc:
            record.error = r.redact(str(exc))
            if isinstance(exc, Exception):  # a fault that fails to inject is an error (on_error does not apply)
                raise StepFailed(f"{path} ({step.label}) failed to inject: {self._describe(exc)}") from exc
            raise
        finally:
            r.emit("chaoskit_activity_finished", kind="fault", record=record)
        active.inject_call = None
        if new_info is not None:
            record.revert_info = new_info
        with r.guard.deferred():
            r.ledger.update(entry_id, info=record.revert_info, state="injected")
        record.injected_at = time.time()
        if step.duration is not None:  # the window starts when the fault is in place
            active.expires_at = time.monotonic() + step.duration
        r.emit("chaoskit_fault_injected", fault=record)
        if step.duration is not None and not step.background:
            self.hold(step.duration, step.label, r.deadline)

    def hold(self, seconds: float, label: str, deadline: Deadline) -> None:
        """Wait ``seconds`` while reverting faults whose duration ends; wake on abort."""
        r = self.r
        r.emit("chaoskit_waiting", what=label, seconds=seconds)
        end = time.monotonic() + seconds
        while True:
            self.revert_expired()
            r.check_abort()
            now = time.monotonic()
            if now >= end:
                return
            expiries = [a.expires_at for a in self.active if a.expires_at is not None and a.record.injected_at]
            wake = min([end, *expiries])
            sleep(max(0.0, wake - now), r.abort, deadline)

    def finish_method(self) -> None:
        """The method's steps are done: wait for background actions and for faults still holding."""
        for thread in self._background:
            while thread.is_alive():
                thread.join(timeout=0.2)
                self.r.check_abort()
        holding = [a.expires_at for a in self.active if a.expires_at is not None]
        if holding:
            self.hold(max(0.0, max(holding) - time.monotonic()), "faults holding", self.r.deadline)

    # -- reverts -----------------------------------------------------------------------------
    def revert_expired(self) -> None:
        now = time.monotonic()
        for active in [a for a in reversed(self.active) if a.expires_at is not None and a.expires_at <= now]:
            self.active.remove(active)
            self.revert(active)

    def revert_all(self) -> None:
        while self.active:
            self.revert(self.active.pop())

    def revert(self, active: ActiveFault) -> None:
        r = self.r
        record = active.record
        call = active.inject_call
        if call is not None and not call.finished:
            # The same fault's inject is still running (cut short by a signal, an abort or a timeout): ask it
            # to stop, and wait for it, so this revert undoes all of it.
            r.ctx.cancel.set()
            call.done.wait(min(INFLIGHT_WAIT_S, r.exp.safety.revert_timeout))
            if call.finished:
                self._take_info(active, call)
            elif call.when_done(lambda: self._late_revert(active, call)):
                self.late.append(active)
                r.record_error(
                    f"revert {record.name}",
                    RevertFailed(
                        f"the inject of {record.name} was still running {INFLIGHT_WAIT_S:g}s after the run began "
                        "reverting; reverted now and again when that inject returns (the guardian reverts it "
                        "if this process ends first)"
                    ),
                )
                self._call_revert(active)
                return  # the ledger entry stays pending until the late revert is done
            else:
                self._take_info(active, call)
        if self._call_revert(active):
            r.ledger.update(record.ledger_id, state="reverted")
        r.emit("chaoskit_fault_reverted", fault=record)

    def _take_info(self, active: ActiveFault, call: Call) -> None:
        """The inject returned after all: revert from the info it returned (it may name what it did)."""
        if call.error is None and isinstance(call.value, dict):
            active.record.revert_info = call.value
            self.r.ledger.update(active.record.ledger_id, info=call.value)

    def _late_revert(self, active: ActiveFault, call: Call) -> None:
        """In the worker, once the inject that outlived its revert has returned: undo it again."""
        try:
            self._take_info(active, call)
            if self._call_revert(active):
                self.r.ledger.update(active.record.ledger_id, state="reverted")
                self.r.ledger.close_if_clean()
        except Exception as exc:
            self.r.record_error(f"late revert {active.record.name}", exc)

    def _call_revert(self, active: ActiveFault) -> bool:
        r = self.r
        record = active.record
        try:
            call_with_timeout(
                lambda: active.plugin.revert(record.revert_info, r.ctx),
                r.exp.safety.revert_timeout,
                f"reverting {record.name}",
            )
        except Exception as exc:
            record.revert_error = r.redact(str(exc))
            r.record_error(f"revert {record.name}", exc)
            r.ledger.update(record.ledger_id, state="revert-failed", error=record.revert_error)
            return False
        record.reverted_at = time.time()
        return True

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
