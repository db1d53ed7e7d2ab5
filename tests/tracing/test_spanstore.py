"""The span store keeps bounded aggregates: a flood of spans with many names and seconds stays within its caps,
and percentiles from the log histogram are within 2.5 % of the exact ones."""

from __future__ import annotations

import random
import statistics
import tracemalloc

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from chaoskit.tracing.spanstore import OTHER, SpanFilter, SpanStore

T0 = 1_800_000_000


def request(spans: list[tuple[str, float, float, bool]], service: str = "svc") -> ExportTraceServiceRequest:
    """(name, end second, duration ms, error) -> one OTLP request."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
    ss = rs.scope_spans.add()
    for i, (name, end, ms, error) in enumerate(spans):
        end_ns = int(end * 1e9)
        ss.spans.append(
            Span(
                trace_id=random.randbytes(16),
                span_id=random.randbytes(8),
                parent_span_id=(i % 7).to_bytes(8, "big"),
                name=name,
                kind=Span.SPAN_KIND_SERVER,
                start_time_unix_nano=end_ns - int(ms * 1e6),
                end_time_unix_nano=end_ns,
                status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK),
                attributes=[KeyValue(key="http.route", value=AnyValue(string_value=f"/r{i % 3}"))],
            )
        )
    return req


def test_percentiles_error_rate_and_filters() -> None:
    rng = random.Random(7)
    durations = [rng.lognormvariate(3, 1) for _ in range(5000)]
    store = SpanStore(indexed_attributes=["http.route"])
    store.add_request(request([("GET /a", T0 + 0.5, d, i % 10 == 0) for i, d in enumerate(durations)]))
    stats = store.window(T0, T0 + 1, SpanFilter(service="svc", name="GET /*", kind="server"))
    assert stats.count == 5000 and stats.errors == 500 and stats.error_rate == 0.1
    for q in (50, 95, 99):
        exact = statistics.quantiles(durations, n=100, method="inclusive")[q - 1]
        value = stats.percentile(q)
        assert value is not None and abs(value - exact) / exact < 0.03, (q, value, exact)
    assert store.window(T0, T0 + 1, SpanFilter(name="POST *")).count == 0
    assert store.window(T0, T0 + 1, SpanFilter(attributes={"http.route": "/r1"})).count == 1667
    assert store.window(T0 + 1, T0 + 2, SpanFilter()).count == 0
    assert store.window(T0, T0 + 1, SpanFilter()).max_per_parent == 715  # parents 0..6 over 5000 spans


def test_a_flood_stays_within_the_caps() -> None:
    store = SpanStore(max_keys=50, retain_s=60, sample=100)
    tracemalloc.start()
    for batch in range(200):  # 200,000 spans, 2,000 distinct names, 200 seconds
        spans = [(f"op-{(batch * 1000 + i) % 2000}", T0 + batch, 1.0 + i % 50, False) for i in range(1000)]
        store.add_request(request(spans))
        if batch == 20:
            early, _ = tracemalloc.get_traced_memory()
    late, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert store.received == 200_000
    assert len(store._keys) <= 51 and OTHER in store.services()  # 50 keys, then everything else as (other)
    assert len(store._seconds) == 60  # the oldest seconds were dropped
    assert sum(len(e["scopeSpans"][0]["spans"]) for e in store.sample()) == 100
    assert late - early < 2 * 1024 * 1024, (early, late)  # flat: no growth with the span count
    # a late span older than all the history kept is not counted (the history is full)
    before = store.window(T0, T0 + 1000, SpanFilter()).count
    store.add_request(request([("op-1", T0, 1.0, False)]))
    assert store.window(T0, T0 + 1000, SpanFilter()).count == before
