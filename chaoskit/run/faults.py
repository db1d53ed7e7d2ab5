"""The fault stack: what is injected, and the one way it is undone.

A fault goes through three calls (see :mod:`chaoskit.plugin`): ``plan`` (by the caller, no side effects), then
here ``inject`` and ``revert(info)``. The stack keeps three promises:

- **Push before inject.** The ledger entry, the journal's fault record and the stack change together with
  signals deferred, and only then does the inject start (in a worker thread): a fault cut short halfway is on the
  stack and in the ledger, so it is reverted too, and no ledger entry is left ``planned`` that the run does not
  know to revert.
- **Revert expired, revert all** -- last in, first out -- through :meth:`FaultStack.revert`, on every path out.
- **A revert never races its own inject.** If the same fault's inject is still running (a signal, an abort or a
  timeout cut the wait short), the revert sets ``ctx.cancel`` (plugins honour it) and waits up to
  :data:`INFLIGHT_WAIT_S`. If the inject still has not returned, the fault is reverted now and again when that
  inject returns (in its worker); its ledger entry stays pending meanwhile, so if this process ends first the
  guardian reverts it (:meth:`FaultStack.handoff_needed` tells the runner to hand over).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from chaoskit.errors import RevertFailed
from chaoskit.ledger import Ledger, LedgerEntry
from chaoskit.model.journal import FaultRecord
from chaoskit.plugin import Context, Fault
from chaoskit.redaction import scrub_text
from chaoskit.run.events import Emit
from chaoskit.run.state import RunState
from chaoskit.signals import SignalGuard
from chaoskit.timeouts import Call, Deadline, call_with_timeout, start_call

INFLIGHT_WAIT_S = 1.0
"""How long a revert waits for the same fault's inject to return (with ``ctx.cancel`` set) before it reverts
anyway; that inject is then reverted again when it returns."""


@dataclass
class ActiveFault:
    plugin: Fault[Any]
    record: FaultRecord
    expires_at: float | None  # monotonic; None: held until the method ends
    inject_call: Call | None = None  # the inject, while it has not returned


class FaultStack:
    def __init__(
        self, state: RunState, ledger: Ledger, guard: SignalGuard, ctx: Context, revert_timeout: float, emit: Emit
    ) -> None:
        self.state = state
        self.ledger = ledger
        self.guard = guard
        self.ctx = ctx
        self.revert_timeout = revert_timeout
        self.emit = emit
        self.active: list[ActiveFault] = []
        self.late: list[ActiveFault] = []
        """Reverted while their inject was still running: reverted again when it returns."""

    # -- inject ------------------------------------------------------------------------------------
    def inject(
        self,
        plugin: Fault[Any],
        record: FaultRecord,
        params: Any,
        ctx: Context,
        timeout: float,
        deadline: Deadline,
        duration: float | None,
    ) -> ActiveFault:
        """Push the fault (ledger, journal, stack), inject it and wait up to ``timeout`` (capped by ``deadline``).
        Raises what the inject raised (the fault stays on the stack, to be reverted); ``record.error`` says it."""
        expires = None if duration is None else time.monotonic() + duration
        active = ActiveFault(plugin, record, expires)
        info = record.revert_info
        with self.guard.deferred():
            self.state.add_fault(record)
            self.ledger.add(LedgerEntry(id=record.ledger_id, plugin=record.plugin, name=record.name, info=info))
            self.active.append(active)
            active.inject_call = start_call(lambda: plugin.inject(params, info, ctx), f"injecting {record.name}")
        try:
            new_info = active.inject_call.result(timeout, deadline)
        except BaseException as exc:
            record.error = scrub_text(str(exc))
            raise
        active.inject_call = None
        if new_info is not None:
            record.revert_info = new_info
        with self.guard.deferred():
            self.ledger.update(record.ledger_id, info=record.revert_info, state="injected")
        record.injected_at = time.time()
        if duration is not None:  # the window starts when the fault is in place
            active.expires_at = time.monotonic() + duration
        return active

    def expiries(self, injected_only: bool = False) -> list[float]:
        """When the faults with a duration end (monotonic)."""
        return [
            a.expires_at
            for a in self.active
            if a.expires_at is not None and (a.record.injected_at is not None or not injected_only)
        ]

    def handoff_needed(self) -> bool:
        """An inject outlived its revert and has still not returned: the guardian must take the ledger over."""
        return any(a.inject_call is not None and not a.inject_call.finished for a in self.late)

    # -- revert ------------------------------------------------------------------------------------
    def revert_expired(self) -> None:
        now = time.monotonic()
        for active in [a for a in reversed(self.active) if a.expires_at is not None and a.expires_at <= now]:
            self.active.remove(active)
            self.revert(active)

    def revert_all(self) -> None:
        while self.active:
            self.revert(self.active.pop())

    def revert(self, active: ActiveFault) -> None:
        record = active.record
        call = active.inject_call
        if call is not None and not call.finished:
            # The same fault's inject is still running (cut short by a signal, an abort or a timeout): ask it
            # to stop, and wait for it, so this revert undoes all of it.
            self.ctx.cancel.set()
            call.wait(min(INFLIGHT_WAIT_S, self.revert_timeout))
            if call.finished:
                self._take_info(active, call)
            elif call.when_done(lambda: self._late_revert(active, call)):
                self.late.append(active)
                self.state.record_error(
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
            self.ledger.update(record.ledger_id, state="reverted")
        self.emit("chaoskit_fault_reverted", fault=record)

    def _take_info(self, active: ActiveFault, call: Call) -> None:
        """The inject returned after all: revert from the info it returned (it may name what it did)."""
        if call.error is None and isinstance(call.value, dict):
            active.record.revert_info = call.value
            self.ledger.update(active.record.ledger_id, info=call.value)

    def _late_revert(self, active: ActiveFault, call: Call) -> None:
        """In the worker, once the inject that outlived its revert has returned: undo it again."""
        try:
            self._take_info(active, call)
            if self._call_revert(active):
                self.ledger.update(active.record.ledger_id, state="reverted")
                self.ledger.close_if_clean()
        except Exception as exc:
            self.state.record_error(f"late revert {active.record.name}", exc)

    def _call_revert(self, active: ActiveFault) -> bool:
        record = active.record
        try:
            call_with_timeout(
                lambda: active.plugin.revert(record.revert_info, self.ctx),
                self.revert_timeout,
                f"reverting {record.name}",
            )
        except Exception as exc:
            record.revert_error = scrub_text(str(exc))
            self.state.record_error(f"revert {record.name}", exc)
            self.ledger.update(record.ledger_id, state="revert-failed", error=record.revert_error)
            return False
        record.reverted_at = time.time()
        return True


__all__ = ["INFLIGHT_WAIT_S", "ActiveFault", "FaultStack"]
