"""A run whose trace goes only to the file records chaoskit's own spans (chaoskit/tracing/spans.py): no
OpenTelemetry SDK imported, the same OTLP/JSON the SDK's path writes, W3C headers the SDK's propagators read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.sdk.resources import Resource as SdkResource
from opentelemetry.sdk.trace import Event as SdkEvent
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from chaoskit import __version__
from chaoskit.tracing import spans as own
from chaoskit.tracing.otlp_json import OtlpJsonFileExporter
from tests.tracing.test_otlp_json import _reference
from tests.tracing.test_structure import _experiment
from tests.tracing.tracekit import file_spans, run_doc

OTEL_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME")


@pytest.fixture(autouse=True)
def no_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*OTEL_VARS, "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(name, raising=False)


def _as_sdk(spans: list[own.Span]) -> list[ReadableSpan]:
    """The same spans as SDK objects (one resource, one scope, as the SDK's provider would have them)."""
    first = spans[0]
    resource = SdkResource(dict(first.resource.attributes))
    scope = InstrumentationScope(first.instrumentation_scope.name, first.instrumentation_scope.version)

    def context(c: own.SpanContext | None) -> SpanContext | None:
        return None if c is None else SpanContext(c.trace_id, c.span_id, False, TraceFlags(TraceFlags.SAMPLED))

    return [
        ReadableSpan(
            name=s.name,
            context=context(s.context),
            parent=context(s.parent),
            resource=resource,
            attributes=s.attributes,
            events=[SdkEvent(e.name, e.attributes, e.timestamp) for e in s.events],
            kind=SpanKind(s.kind.value),
            status=Status(StatusCode(s.status.status_code.value), s.status.description),
            start_time=s.start_time,
            end_time=s.end_time,
            instrumentation_scope=scope,
        )
        for s in spans
    ]


def test_the_file_is_what_the_sdk_would_write_for_the_same_spans(
    tmp_path: Path, http_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[own.Span] = []
    add = OtlpJsonFileExporter.add  # chaoskit's own spans come one at a time, as each ends

    def keep(self: OtlpJsonFileExporter, span: Any) -> None:
        seen.append(span)
        add(self, span)

    monkeypatch.setattr(OtlpJsonFileExporter, "add", keep)
    http_service.state.broken_when = tmp_path / "marker.txt"  # 503 while the fault is in: error statuses
    journal = run_doc(_experiment(http_service.url), tmp_path)
    assert seen and all(isinstance(s, own.Span) for s in seen)
    assert any(s.status.status_code is own.StatusCode.ERROR for s in seen)
    assert any(s.events for s in seen)
    path = Path(journal.artifacts["trace"])
    assert path.read_text() == _reference(_as_sdk(seen))
    assert {s["traceId"] for s in file_spans(path)} == {journal.trace_id}


def test_the_resource_is_what_the_sdk_would_create(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging%20eu,team=sre")
    ours = dict(own.resource("chaoskit", __version__).attributes)
    sdk = dict(SdkResource.create({"service.name": "chaoskit", "service.version": __version__}).attributes)
    assert ours.pop("service.instance.id") and sdk.pop("service.instance.id")  # a random id per process
    assert list(ours.items()) == list(sdk.items())


def test_probes_get_headers_the_sdk_propagators_read(tmp_path: Path, http_service: Any) -> None:
    journal = run_doc(_experiment(http_service.url), tmp_path)
    probes = {s["spanId"] for s in file_spans(Path(journal.artifacts["trace"])) if s["name"].startswith("probe ")}
    sent = [h for h in http_service.state.headers_seen if "traceparent" in {k.lower() for k in h}]
    assert len(sent) == len(probes) >= 3
    for headers in sent:
        lower = {k.lower(): v for k, v in headers.items()}
        context = get_current_span(TraceContextTextMapPropagator().extract(lower)).get_span_context()
        assert f"{context.trace_id:032x}" == journal.trace_id and f"{context.span_id:016x}" in probes
        assert context.trace_flags.sampled
        items = baggage.get_all(W3CBaggagePropagator().extract(lower))
        assert items["chaoskit.run_id"] == journal.run_id
    faults = [baggage.get_all(W3CBaggagePropagator().extract({k.lower(): v for k, v in h.items()})) for h in sent]
    assert any(f.get("chaoskit.fault") == "marker" for f in faults)  # probes while the fault was in


def test_a_file_only_run_imports_no_opentelemetry_sdk(tmp_path: Path, http_service: Any) -> None:
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from chaoskit.loader import validate_document\n"
        "from chaoskit.runner import RunOptions, run_experiment\n"
        f"doc = json.loads({json.dumps(json.dumps(_experiment(http_service.url)))})\n"
        "journal = run_experiment(validate_document(doc, source='exp.yaml'),"
        " RunOptions(run_dir=Path('run'), handle_signals=False))\n"
        "print(json.dumps({'trace': journal.artifacts.get('trace'),"
        " 'modules': sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'google', 'psutil')))}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in OTEL_VARS}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["trace"] and file_spans(tmp_path / found["trace"])
    # only the one-line module that names the SDK's version (telemetry.sdk.version), and its namespace packages
    assert found["modules"] == ["opentelemetry", "opentelemetry.sdk", "opentelemetry.sdk.version"]
