"""The system under test joins the experiment's trace: a service instrumented with the OpenTelemetry SDK
(its own TracerProvider, the real WSGI middleware) receives the http probes' requests, and its SERVER
spans are children of chaoskit's probe spans in the experiment's trace."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from chaoskit.model.journal import Outcome
from tests.tracing.tracekit import TracedService, file_spans, run_doc


def test_server_spans_of_the_service_carry_the_experiment_trace_id(
    tmp_path: Path, traced_service: TracedService
) -> None:
    doc = {
        "title": "service joins",
        "steady_state": {
            "strategy": "continuous",
            "frequency": "250ms",
            "probes": [
                {
                    "name": "api",
                    "probe": "http",
                    "with": {"url": f"{traced_service.url}/health"},
                    "expect": {"status": 200},
                }
            ],
        },
        "method": [{"name": "latency", "fault": "testkit.marker", "with": {"path": "m.txt"}, "duration": "1s"}],
        "recovery": {"within": "5s", "interval": "100ms"},
    }
    journal = run_doc(doc, tmp_path)
    assert journal.outcome is Outcome.PASSED, journal.reason
    ours = file_spans(Path(journal.artifacts["trace"]))
    probe_span_ids = {s["spanId"] for s in ours if s["name"] == "probe api"}
    # the service ends its span after the response went out: give the last one a moment
    end = time.monotonic() + 20
    while len(traced_service.server_spans()) < len(probe_span_ids) and time.monotonic() < end:
        time.sleep(0.05)
    server = traced_service.server_spans()
    assert len(server) == len(probe_span_ids) >= 3
    for span in server:
        assert span.kind is SpanKind.SERVER
        assert span.context is not None and span.parent is not None
        assert trace.format_trace_id(span.context.trace_id) == journal.trace_id
        assert trace.format_span_id(span.parent.span_id) in probe_span_ids
        assert span.parent.is_remote
    # each probe span has exactly one server span under it
    assert {trace.format_span_id(s.parent.span_id) for s in server if s.parent} == probe_span_ids
    # and the service saw which fault was in place (baggage), for the requests made during the fault
    faults = [
        h.get("baggage", "") for h in traced_service.headers_seen if "chaoskit.fault=latency" in h.get("baggage", "")
    ]
    assert faults and all(f"chaoskit.run_id={journal.run_id}" in b for b in faults)


def test_chaoskit_never_touches_the_global_tracer_provider(tmp_path: Path, http_service: Any) -> None:
    before = trace.get_tracer_provider()
    doc = {
        "title": "global untouched",
        "steady_state": {
            "probes": [{"name": "api", "probe": "http", "with": {"url": http_service.url}, "expect": {"status": 200}}]
        },
        "method": [{"pause": "50ms"}],
    }
    journal = run_doc(doc, tmp_path)
    assert journal.outcome is Outcome.PASSED and journal.trace_id
    assert trace.get_tracer_provider() is before
    assert type(before).__name__ == "ProxyTracerProvider"
