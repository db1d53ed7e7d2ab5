"""The hook plugin that records a run as one trace (span and attribute names: ``docs/tracing.md``).

Hooks arrive from several threads (the main thread, the monitor thread that runs continuous and
``abort_when`` probes, background actions), so every span gets its parent explicitly: the root span,
a phase span, or the root for fault windows. An activity's span is remembered in a ContextVar of the
thread that runs it; ``call_with_timeout`` runs the plugin in a worker thread with a copy of that
context, so ``ctx.headers()`` called by the plugin yields the ``traceparent`` of its own activity span.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any

from chaoskit import __version__
from chaoskit.errors import ChaosKitError
from chaoskit.hooks import hookimpl
from chaoskit.model.experiment import TracingSpec
from chaoskit.model.journal import ActivityRecord, FaultRecord, Journal, ObservationRecord, Outcome
from chaoskit.timeouts import call_with_timeout
from chaoskit.tracing.otlp_json import SPOOL, OtlpJsonFileExporter
from chaoskit.tracing.receive import Reception
from chaoskit.tracing.setup import TracingConfigError, reachability, resolve_otlp, service_name
from chaoskit.tracing.spans import FileTraces, Traces

MONITOR_THREAD = "chaoskit: monitor"  # the runner's monitor thread (continuous steady state, abort_when)


class TracingExportError(ChaosKitError):
    """The trace could not be written or delivered. Recorded on the journal; never fails the run."""


def _ns(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1e9)


_SCALARS = (str, bool, int, float)
_NUMBERS = (int, float)


def _scalar(value: Any) -> str | bool | int | float:
    if isinstance(value, _SCALARS):
        return value
    return json.dumps(value, default=str, sort_keys=True)


class _Activity:
    """The span of the activity a thread runs (in a ContextVar), its probe role, and the token to reset it.
    One per activity: a plain class with its own ``__init__`` (``@record``'s shared one loops in Python)."""

    __slots__ = ("role", "span", "token")

    def __init__(self, span: Any, role: str) -> None:
        self.span = span
        self.role = role
        self.token: Token[_Activity | None] | None = None


class RunTracer:
    """Records one run as one trace. Registered by the runner when ``tracing.enabled``.

    Spans are chaoskit's own (:mod:`chaoskit.tracing.spans`, no OpenTelemetry SDK imported) when the trace goes
    only to the file; the SDK's (:mod:`chaoskit.tracing.sdk`) when it also goes to a collector or into a
    TracerProvider passed in."""

    def __init__(
        self,
        spec: TracingSpec,
        run_dir: Callable[[], Path],
        on_error: Callable[[str, BaseException], None],
        provider: Any = None,
    ) -> None:
        self.spec = spec
        self._run_dir = run_dir
        self._on_error = on_error
        self.traces: Traces
        if provider is not None:
            from chaoskit.tracing.sdk import SdkTraces

            self.traces = SdkTraces(provider, owned=False)
        else:
            target = None
            try:
                target = resolve_otlp(spec)
            except TracingConfigError as exc:  # a bad OTEL_* variable: record it, keep the file trace
                on_error("tracing setup", exc)
            if target is None:
                file = OtlpJsonFileExporter() if spec.file else None
                self.traces = FileTraces(service_name(spec), __version__, file)
            else:
                from chaoskit.tracing.sdk import build_pipeline

                self.traces = build_pipeline(spec, target)
        self._lock = threading.Lock()
        self._current: ContextVar[_Activity | None] = ContextVar("chaoskit_activity", default=None)
        self._open: dict[int, Any] = {}
        """Activity spans not finished yet, by id. Stored and popped without the lock (one dict operation each is
        atomic); a span that finishes while the run's end closes the leftovers is ended once (``end`` is
        idempotent)."""
        self.root: Any = None
        self._phases: dict[str, Any] = {}
        self._windows: dict[str, tuple[str, Any]] = {}  # ledger id -> (fault name, window span)
        self._http_probes: dict[str, dict[str, Any]] = {}
        self._reception: Reception | None = None
        self._received: list[dict[str, Any]] = []

    # -- helpers -----------------------------------------------------------------------------
    def _parent(self, phase: str) -> Any:
        span = self._phases.get("method" if phase == "safety" else phase)  # one dict read: atomic, no lock
        return span if span is not None else self.root

    def _active_faults(self) -> list[str]:
        if not self._windows:  # the usual case, read without the lock (a fault injected meanwhile is a race anyway)
            return []
        with self._lock:
            return [name for name, _ in self._windows.values()]

    def _index_http_probes(self, experiment: dict[str, Any]) -> None:
        """label -> ``with`` of http probes whose label is unambiguous (for url.full, http.request.method)."""
        specs: list[dict[str, Any]] = [
            *((experiment.get("steady_state") or {}).get("probes") or []),
            *((experiment.get("safety") or {}).get("abort_when") or []),
            *[s for s in experiment.get("method") or [] if isinstance(s, dict) and s.get("probe")],
        ]
        seen: dict[str, list[dict[str, Any]]] = {}
        for spec in specs:
            if isinstance(spec, dict) and spec.get("probe") == "http":
                seen.setdefault(spec.get("name") or "http", []).append(spec.get("with", {}))
        self._http_probes = {k: v[0] for k, v in seen.items() if all(w == v[0] for w in v)}

    # -- run ---------------------------------------------------------------------------------
    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        self._index_http_probes(journal.experiment)
        self.root = self.traces.start(
            f"chaoskit {journal.title}",
            None,  # a new trace, whatever the host process has active
            start_time=_ns(journal.started_at),
            attributes={
                "chaoskit.run.id": journal.run_id,
                "chaoskit.experiment.title": journal.title,
                "chaoskit.experiment.source": journal.source or "",
                "chaoskit.run.dry_run": journal.dry_run,
                "chaoskit.version": __version__,
            },
        )
        journal.trace_id = self.traces.trace_id(self.root)
        if self.traces.owned and self.traces.file is not None:
            # Spans go to the run's folder as they end: memory stays flat, a killed run leaves them readable.
            path = self._run_dir() / SPOOL
            try:
                self.traces.file.spool(path)
            except OSError as exc:  # kept in memory instead; trace.json is still written at the end
                self._on_error("tracing file", TracingExportError(f"could not write the spans to {path}: {exc}"))
        if self.spec.receive is not None and not journal.dry_run:
            self._reception = Reception(self.spec.receive, journal)
            self._reception.start()

    @hookimpl
    def chaoskit_phase_started(self, journal: Journal, phase: str) -> None:
        record = journal.phase(phase)
        span = self.traces.start(
            phase,
            self.root,
            start_time=_ns(record.started_at if record else None),
            attributes={"chaoskit.phase": phase},
        )
        with self._lock:
            self._phases[phase] = span

    @hookimpl
    def chaoskit_phase_finished(self, journal: Journal, phase: str) -> None:
        with self._lock:
            span = self._phases.pop(phase, None)
        if span is not None:
            record = journal.phase(phase)
            span.end(end_time=_ns(record.ended_at if record else None))

    # -- activities --------------------------------------------------------------------------
    @hookimpl
    def chaoskit_activity_started(self, journal: Journal, kind: str, name: str, phase: str) -> None:
        attributes: dict[str, Any] = {
            "chaoskit.activity.kind": kind,
            "chaoskit.activity.name": name,
            "chaoskit.phase": phase,
        }
        faults = self._active_faults()
        if faults:
            attributes["chaoskit.faults.active"] = faults
        span_kind = "internal"
        role = ""
        if kind == "probe":
            if phase == "safety":
                role = "abort_when"
            elif phase in ("baseline", "recovery") or threading.current_thread().name == MONITOR_THREAD:
                role = "steady_state"
            else:
                role = "step"
            attributes["chaoskit.probe.role"] = role
            http = self._http_probes.get(name)
            if http is not None and isinstance(http.get("url"), str):
                span_kind = "client"  # the http probe sends our traceparent: the service's spans are children
                attributes["url.full"] = http["url"]
                attributes["http.request.method"] = http.get("method", "GET")
        verb = "inject" if kind == "fault" else kind
        span = self.traces.start(f"{verb} {name}", self._parent(phase), span_kind, attributes=attributes)
        activity = _Activity(span, role)
        activity.token = self._current.set(activity)
        self._open[id(span)] = span  # one dict store: atomic, no lock (see _close_leftovers)

    @hookimpl
    def chaoskit_activity_finished(
        self, journal: Journal, kind: str, record: ObservationRecord | ActivityRecord | FaultRecord
    ) -> None:
        activity = self._current.get()
        if activity is None:
            return
        if activity.token is not None:
            self._current.reset(activity.token)
        span = activity.span
        if type(record) is ObservationRecord or isinstance(record, ObservationRecord):
            self._observed(span, record, activity.role)
        elif isinstance(record, ActivityRecord):
            span.set_attribute("chaoskit.plugin", record.plugin)
            if record.error:
                span.set_attribute("error.type", "action_failed")
                self.traces.fail(span, record.error)
        else:
            span.set_attributes(
                {
                    "chaoskit.plugin": record.plugin,
                    "chaoskit.fault.name": record.name,
                    "chaoskit.fault.ledger_id": record.ledger_id,
                    "chaoskit.fault.params": _scalar(record.params),
                }
            )
            if record.error:
                span.set_attribute("error.type", "inject_failed")
                self.traces.fail(span, record.error)
        self._open.pop(id(span), None)
        span.end()

    def _observed(self, span: Any, record: ObservationRecord, role: str) -> None:
        """A probe's span gets its result: one ``set_attributes`` (in the order the trace has always had)."""
        ok, value, details = record.ok, record.value, record.details
        attributes: dict[str, Any] = {
            "chaoskit.plugin": record.plugin,
            "chaoskit.probe.duration_s": record.duration_s,
            "chaoskit.probe.reason": record.reason,
        }
        if ok is not None:
            attributes["chaoskit.probe.ok"] = ok
        if record.triggered is not None:  # an abort condition: ok means "not triggered"
            attributes["chaoskit.abort.triggered"] = record.triggered
        if value is not None:
            attributes["chaoskit.probe.value"] = _scalar(value)
        if details:
            status, latency = details.get("status"), details.get("latency_ms")
            if record.plugin == "http" and isinstance(status, int):
                attributes["http.response.status_code"] = status
            if isinstance(latency, _NUMBERS):
                attributes["chaoskit.probe.latency_ms"] = latency
        if record.error:
            attributes["error.type"] = "probe_failed"
        elif ok is False and role != "abort_when":
            attributes["error.type"] = "tolerance_not_met"
        span.set_attributes(attributes)
        if record.error:
            self.traces.fail(span, record.error)
        elif ok is False and role != "abort_when":
            self.traces.fail(span, record.reason)

    # -- faults and abort --------------------------------------------------------------------
    @hookimpl
    def chaoskit_fault_injected(self, journal: Journal, fault: FaultRecord) -> None:
        when = _ns(fault.injected_at)
        attributes = {
            "chaoskit.fault.name": fault.name,
            "chaoskit.plugin": fault.plugin,
            "chaoskit.fault.ledger_id": fault.ledger_id,
        }
        window = self.traces.start(f"fault {fault.name}", self.root, start_time=when, attributes=attributes)
        window.add_event("chaoskit.fault.injected", attributes, timestamp=when)
        if self.root is not None:
            self.root.add_event("chaoskit.fault.injected", attributes, timestamp=when)
        with self._lock:
            self._windows[fault.ledger_id] = (fault.name, window)

    @hookimpl
    def chaoskit_fault_reverted(self, journal: Journal, fault: FaultRecord) -> None:
        attributes: dict[str, Any] = {
            "chaoskit.fault.name": fault.name,
            "chaoskit.plugin": fault.plugin,
            "chaoskit.fault.ledger_id": fault.ledger_id,
            "chaoskit.fault.reverted": fault.revert_error is None,
        }
        if fault.revert_error:
            attributes["chaoskit.fault.revert_error"] = fault.revert_error
        when = _ns(fault.reverted_at) or time.time_ns()
        with self._lock:
            name_window = self._windows.pop(fault.ledger_id, None)
        if self.root is not None:
            self.root.add_event("chaoskit.fault.reverted", attributes, timestamp=when)
        if name_window is None:
            return  # inject failed before the fault was in place: no window
        window = name_window[1]
        window.add_event("chaoskit.fault.reverted", attributes, timestamp=when)
        if fault.revert_error:
            window.set_attribute("error.type", "revert_failed")
            self.traces.fail(window, fault.revert_error)
        window.end(end_time=when)

    @hookimpl
    def chaoskit_aborted(self, journal: Journal, reason: str) -> None:
        if self.root is not None:
            self.root.add_event("chaoskit.aborted", {"chaoskit.abort.reason": reason})

    # -- propagation -------------------------------------------------------------------------
    @hookimpl
    def chaoskit_propagation_headers(self, journal: Journal) -> dict[str, str]:
        """``traceparent`` of the calling activity's span (the root span outside activities) and a
        ``baggage`` with the run id and the faults in place."""
        if self.root is None:
            return {}
        activity = self._current.get()
        span = activity.span if activity is not None else self.root
        items = {"chaoskit.run_id": journal.run_id}
        faults = self._active_faults()
        if faults:
            items["chaoskit.fault"] = ",".join(faults)
        return self.traces.headers(span, items)

    # -- the end -----------------------------------------------------------------------------
    @hookimpl
    def chaoskit_run_finished(self, journal: Journal) -> None:
        if self.root is None:  # an earlier run-start hook stopped the run before ours ran
            self.chaoskit_run_started(journal)
        assert self.root is not None
        self._close_leftovers()
        outcome = journal.outcome or Outcome.ERROR
        root = self.root
        if self._reception is not None:
            self._received = self._reception.finish(journal)
            self._reception = None
            if journal.traces is not None:
                root.set_attribute("chaoskit.traces.received", journal.traces.received)
                if journal.traces.ttr_s is not None:
                    root.set_attribute("chaoskit.traces.ttr_s", journal.traces.ttr_s)
        root.set_attributes(
            {
                "chaoskit.run.outcome": outcome.value,
                "chaoskit.run.exit_code": outcome.exit_code,
                "chaoskit.run.reason": journal.reason,
            }
        )
        if journal.ttr_s is not None:
            root.set_attribute("chaoskit.run.ttr_s", journal.ttr_s)
        if outcome not in (Outcome.PASSED, Outcome.DRY_RUN):
            root.set_attribute("error.type", outcome.value)
            self.traces.fail(root, journal.reason)
        root.end(end_time=_ns(journal.ended_at))
        self._export(journal)

    def _close_leftovers(self) -> None:
        """Spans a Ctrl-C cut short (their finish hook never came) end here, marked as such."""
        leftovers, self._open = self._open, {}  # activities store and pop without the lock: swap, never clear
        with self._lock:
            windows = [w for _, w in self._windows.values()]
            self._windows.clear()
            phases = list(self._phases.values())
            self._phases.clear()
        for span in [*list(leftovers.values()), *windows, *phases]:
            span.set_attribute("chaoskit.unfinished", True)
            span.end()

    def _export(self, journal: Journal) -> None:
        traces = self.traces
        if not traces.owned:  # a provider passed in belongs to the caller: flush it, never shut it down
            ms = int(self.spec.export_timeout * 1000)
            self._bounded(lambda: traces.flush(ms), "flushing the trace to the given TracerProvider")
            return
        if traces.file is not None:
            path = self._run_dir() / "trace.json"
            try:
                traces.file.write(path, self._received)
                journal.artifacts["trace"] = str(path)
            except Exception as exc:
                self._on_error("tracing file", TracingExportError(f"could not write the trace to {path}: {exc}"))
        kept = f"; the trace is in {journal.artifacts['trace']}" if "trace" in journal.artifacts else ""
        finished = self._bounded(traces.shutdown, "sending the trace", kept)
        otlp, target = traces.otlp, traces.target
        if otlp is not None and finished:  # else the abandoned export may still log: keep those quiet too
            otlp.detach()
        if otlp is not None and target is not None and otlp.failed:
            seen = reachability(target.endpoint, min(0.5, self.spec.export_timeout / 4))
            self._on_error(
                f"tracing export ({target.protocol} {target.endpoint})",
                TracingExportError(
                    f"{otlp.failed} span(s) could not be sent to the OTLP endpoint {target.endpoint} "
                    f"(export timeout {self.spec.export_timeout:g}s; {seen}): {otlp.last_error}{kept}"
                ),
            )

    def _bounded(self, fn: Callable[[], object], what: str, kept: str = "") -> bool:
        try:
            call_with_timeout(fn, self.spec.export_timeout, what)
            return True
        except Exception as exc:
            where = "tracing export"
            if self.traces.target is not None:
                where += f" ({self.traces.target.protocol} {self.traces.target.endpoint})"
            self._on_error(where, TracingExportError(f"{exc}{kept}"))
            return False
