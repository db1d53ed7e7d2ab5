"""Receiving the application's spans for one run (``tracing.receive``): start the receiver when the run starts,
make its store available to the ``trace.*`` probes, and at the end sum it up for the journal and the report
(server spans per service before the faults, during each, and after the last revert) with a trace-derived time to
recovery. The raw sample it kept goes into the run's ``trace.json``.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from chaoskit.errors import PluginError

if TYPE_CHECKING:
    from chaoskit.model.experiment import ReceiveSpec
    from chaoskit.model.journal import Journal, TracesRecord, TraceWindowRow
    from chaoskit.tracing.receiver import Receiver
    from chaoskit.tracing.spanstore import SpanStore

_ACTIVE: dict[str, SpanStore] = {}
_LOCK = threading.Lock()


def active_store(run_id: str) -> SpanStore | None:
    """The spans received so far by the run ``run_id`` (None when it receives none)."""
    with _LOCK:
        return _ACTIVE.get(run_id)


def _indexed_attributes(experiment: dict[str, Any]) -> set[str]:
    """Attribute names that some trace probe filters on: only those are kept per span."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("probe", "")).startswith("trace.") and isinstance(node.get("with"), dict):
                attributes = node["with"].get("attributes")
                if isinstance(attributes, dict):
                    found.update(str(k) for k in attributes)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(experiment)
    return found


def _split(address: str | None) -> tuple[str, int] | None:
    if address is None:
        return None
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class Reception:
    """One run's receiver and store."""

    def __init__(self, spec: ReceiveSpec, journal: Journal) -> None:
        from chaoskit.tracing.receiver import Receiver
        from chaoskit.tracing.spanstore import SpanStore

        token = None
        if spec.token_env is not None:
            token = os.environ.get(spec.token_env)
            if not token:
                raise PluginError(f"tracing.receive.token_env: the variable {spec.token_env} is not set or empty")
        self.spec = spec
        self.run_id = journal.run_id
        self.store = SpanStore(
            _indexed_attributes(journal.experiment), spec.max_keys, sample=spec.sample, run_trace_id=journal.trace_id
        )
        self.receiver: Receiver = Receiver(self.store, _split(spec.http), _split(spec.grpc), token, spec.max_body)

    def start(self) -> None:
        """Listen; then wait up to ``wait`` seconds for a span that ended since (an exporter that found nobody
        listening may first send old batches, or back off), so the baseline can judge fresh spans."""
        from chaoskit.tracing.spanstore import SpanFilter

        self.receiver.start()
        with _LOCK:
            _ACTIVE[self.run_id] = self.store
        started = time.time()
        deadline = time.monotonic() + self.spec.wait
        while time.monotonic() < deadline and not self.store.window(started, time.time() + 1, SpanFilter()).count:
            time.sleep(0.05)

    def finish(self, journal: Journal) -> list[dict[str, Any]]:
        """Stop receiving, put the summary on the journal, return the raw sample (OTLP/JSON resourceSpans)."""
        end = self._hold_for_ttr(journal)
        with _LOCK:
            _ACTIVE.pop(self.run_id, None)
        self.receiver.stop()
        journal.traces = summarize(journal, self.store, self.spec, self.receiver, end)
        return self.store.sample()

    def _hold_for_ttr(self, journal: Journal) -> float:
        """After a run that reverted faults and reached a verdict, keep receiving until the trace-derived TTR is
        known or ``recovery.within`` after the last revert has passed (the run's own recovery may end sooner than
        ``ttr.hold`` healthy seconds can be seen). Returns the end of the "after revert" window."""
        from chaoskit.model.journal import Outcome

        reverts = [f.reverted_at for f in journal.faults if f.reverted_at is not None]
        if not reverts or journal.outcome not in (Outcome.PASSED, Outcome.DEVIATED):
            return journal.ended_at or time.time()
        within = (journal.experiment.get("recovery") or {}).get("within", 30.0)
        deadline = max(reverts) + (within if isinstance(within, int | float) else 30.0) + self.spec.ttr.hold + 1
        while time.time() < deadline and trace_ttr(journal, self.store, self.spec, time.time())[0] is None:
            time.sleep(0.2)
        time.sleep(0.3)  # spans that ended just now are still in the senders' batches
        return time.time()


def _address(at: tuple[str, int] | None) -> str | None:
    return None if at is None else f"{at[0]}:{at[1]}"


def _windows(journal: Journal, end: float) -> list[tuple[str, float, float]]:
    injected = [f for f in journal.faults if f.injected_at is not None]
    first = min((f.injected_at for f in injected if f.injected_at is not None), default=end)
    baseline = journal.phase("baseline")
    out = [("before", baseline.started_at if baseline else journal.started_at, first)]
    for fault in injected:
        assert fault.injected_at is not None
        out.append((f"fault {fault.name}", fault.injected_at, fault.reverted_at or end))
    reverts = [f.reverted_at for f in injected if f.reverted_at is not None]
    if reverts:
        out.append(("after revert", max(reverts), end))
    return out


def summarize(journal: Journal, store: SpanStore, spec: ReceiveSpec, receiver: Receiver, end: float) -> TracesRecord:
    from chaoskit.model.journal import TracesRecord, TraceWindowRow
    from chaoskit.tracing.spanstore import SpanFilter

    rows: list[TraceWindowRow] = []
    services = store.services()
    for name, start, until in _windows(journal, end):
        for service in services:
            stats = store.window(start, until, SpanFilter(service=service, kind="server"), inner=True)
            if stats.count:
                p95 = stats.percentile(95)
                rows.append(
                    TraceWindowRow(
                        service=service,
                        window=name,
                        spans=stats.count,
                        errors=stats.errors,
                        p95_ms=None if p95 is None else round(p95, 1),
                    )
                )
    ttr, rule = trace_ttr(journal, store, spec, end)
    return TracesRecord(
        http=_address(receiver.http_address),
        grpc=_address(receiver.grpc_address),
        received=store.received,
        refused=store.refused,
        last_refusal=receiver.last_refusal,
        services=services,
        windows=rows,
        ttr_s=ttr,
        ttr_rule=rule,
    )


def trace_ttr(journal: Journal, store: SpanStore, spec: ReceiveSpec, end: float) -> tuple[float | None, str]:
    """Seconds from the last revert to the first whole second that starts ``hold`` healthy seconds in a row (a
    second with no matching span is not healthy). Resolution: one second."""
    from chaoskit.tracing.spanstore import SpanFilter

    t = spec.ttr
    who = " ".join(x for x in (t.service, t.kind) if x) or "all"
    rule = f"{who} spans: error rate <= {t.max_error_rate:g}"
    rule += f", p95 <= {t.max_p95_ms:g} ms" if t.max_p95_ms is not None else ""
    rule += f", every second for {t.hold:g}s"
    reverts = [f.reverted_at for f in journal.faults if f.reverted_at is not None]
    if not reverts:
        return None, rule
    revert = max(reverts)
    flt = SpanFilter(service=t.service, kind=t.kind)
    first = math.ceil(revert)
    need = max(1, math.ceil(t.hold))
    healthy: list[int] = []
    for second in range(first, math.floor(end)):  # whole seconds only: the current one is not over
        stats = store.window(second, second + 1, flt)
        rate, p95 = stats.error_rate, stats.percentile(95)
        ok = rate is not None and rate <= t.max_error_rate
        ok = ok and (t.max_p95_ms is None or (p95 is not None and p95 <= t.max_p95_ms))
        healthy = [*healthy, second] if ok else []
        if len(healthy) >= need:
            return round(max(0.0, healthy[0] - revert), 3), rule
    return None, rule
