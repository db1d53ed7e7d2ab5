"""The OpenTelemetry SDK path of a run's trace: used when the trace goes to a collector (an OTLP endpoint in the
experiment or in ``OTEL_EXPORTER_OTLP_*``) or into a TracerProvider passed in. chaoskit builds its own
TracerProvider here and never sets the global one. Imported only then: a run that writes only ``trace.json``
uses :mod:`chaoskit.tracing.spans`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import baggage as otel_baggage
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context as OtelContext
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from chaoskit import __version__
from chaoskit.model.experiment import TracingSpec
from chaoskit.redaction import active, scrub, scrub_text
from chaoskit.tracing.otlp_json import OtlpJsonFileExporter
from chaoskit.tracing.setup import OtlpTarget, TracingConfigError, service_name

_TRACEPARENT = TraceContextTextMapPropagator()
_BAGGAGE = W3CBaggagePropagator()
_KINDS = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}


def otlp_exporter(target: OtlpTarget, timeout_s: float) -> SpanExporter:
    if target.protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        except ImportError:
            raise TracingConfigError(
                "OTLP over gRPC needs the gRPC exporter: pip install 'chaoskit[grpc]' (or use protocol http/protobuf)"
            ) from None
        return GrpcExporter(endpoint=target.endpoint, timeout=timeout_s)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=target.endpoint, timeout=timeout_s)


EXPORTER_LOGGER = "opentelemetry.exporter.otlp"


class _LastProblem(logging.Handler):
    """Keeps the OTLP exporters' last warning (they log why an export failed and return only FAILURE)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()[:300]
        if message not in self.messages:
            self.messages = [*self.messages[-2:], message]

    def take(self) -> str:
        message, self.messages = " / ".join(self.messages), []
        return message


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` whose name, attributes, events and status text have secrets hidden."""
    from opentelemetry.sdk.trace import Event
    from opentelemetry.trace import Status

    return ReadableSpan(
        name=scrub_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=scrub(dict(span.attributes or {}), numbers=False),
        events=[
            Event(scrub_text(e.name), scrub(dict(e.attributes or {}), numbers=False), e.timestamp) for e in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, scrub_text(span.status.description or "") or None),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class WatchedExporter(SpanExporter):
    """Counts what an exporter delivered and what it failed to deliver (it never raises).

    While attached, it also keeps the exporters' log warnings (the reason of a failure, for the
    journal); a host process that configured logging still gets them, a bare CLI does not print them raw.
    """

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = 0
        self.failed = 0
        self.last_error = ""
        self._lock = threading.Lock()
        self._problems = _LastProblem()
        logging.getLogger(EXPORTER_LOGGER).addHandler(self._problems)

    def detach(self) -> None:
        logging.getLogger(EXPORTER_LOGGER).removeHandler(self._problems)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._problems.take()
        if active():  # secrets never leave in a span, also not over the network (chaoskit.redaction)
            spans = [scrubbed(span) for span in spans]
        try:
            result = self.inner.export(spans)
        except Exception as exc:
            result, error = SpanExportResult.FAILURE, f"{type(exc).__name__}: {exc}"
        else:
            error = "" if result is SpanExportResult.SUCCESS else self._problems.take() or "export failed"
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.exported += len(spans)
            else:
                self.failed += len(spans)
                self.last_error = error
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _File(SpanExporter):
    """The OTLP/JSON file exporter behind the SDK's span processor."""

    def __init__(self, file: OtlpJsonFileExporter) -> None:
        self.file = file

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.file.export(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.file.shutdown()


class SdkTraces:
    """Spans through an OpenTelemetry TracerProvider: chaoskit's own (built by :func:`build_pipeline`) or one
    passed in (``owned`` False). See :class:`chaoskit.tracing.spans.Traces`."""

    def __init__(
        self,
        provider: trace.TracerProvider,
        file: OtlpJsonFileExporter | None = None,
        otlp: WatchedExporter | None = None,
        target: OtlpTarget | None = None,
        owned: bool = True,
    ) -> None:
        self.provider = provider
        self.file = file
        self.otlp = otlp
        self.target = target
        self.owned = owned
        self.tracer = provider.get_tracer("chaoskit", __version__)

    def start(
        self,
        name: str,
        parent: Any = None,
        kind: str = "internal",
        start_time: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Span:
        # No parent: a new trace, whatever the host process has active.
        context = trace.set_span_in_context(parent) if parent is not None else OtelContext()
        return self.tracer.start_span(
            name, context=context, kind=_KINDS[kind], start_time=start_time, attributes=attributes
        )

    def fail(self, span: Any, description: str) -> None:
        span.set_status(Status(StatusCode.ERROR, description))

    def trace_id(self, span: Any) -> str:
        return trace.format_trace_id(span.get_span_context().trace_id)

    def headers(self, span: Any, baggage: Mapping[str, str]) -> dict[str, str]:
        ctx = trace.set_span_in_context(span)
        for key, value in baggage.items():
            ctx = otel_baggage.set_baggage(key, value, ctx)
        headers: dict[str, str] = {}
        _TRACEPARENT.inject(headers, context=ctx)
        _BAGGAGE.inject(headers, context=ctx)
        return headers

    def flush(self, timeout_ms: int) -> object:
        flush = getattr(self.provider, "force_flush", None)
        return flush(timeout_ms) if callable(flush) else True

    def shutdown(self) -> None:
        shutdown = getattr(self.provider, "shutdown", None)
        if callable(shutdown):
            shutdown()


def build_pipeline(spec: TracingSpec, target: OtlpTarget | None) -> SdkTraces:
    """chaoskit's own TracerProvider: the trace file (``tracing.file``) and the OTLP exporter to ``target``."""
    resource = Resource.create({"service.name": service_name(spec), "service.version": __version__})
    # ALWAYS_ON: a host's OTEL_TRACES_SAMPLER must not drop parts of a run's trace.
    # shutdown_on_exit=False: the run shuts it down itself, within the export timeout.
    provider = TracerProvider(resource=resource, sampler=ALWAYS_ON, shutdown_on_exit=False)
    file = None
    if spec.file:
        file = OtlpJsonFileExporter()
        provider.add_span_processor(SimpleSpanProcessor(_File(file)))
    otlp = None
    if target is not None:
        # The exporter gives up a little before the run stops waiting for it, so its reason is the one reported.
        otlp = WatchedExporter(otlp_exporter(target, spec.export_timeout * 0.8))
        timeout_ms = spec.export_timeout * 1000
        provider.add_span_processor(
            BatchSpanProcessor(otlp, schedule_delay_millis=2000, export_timeout_millis=timeout_ms)
        )
    return SdkTraces(provider, file, otlp, target)


__all__ = ["EXPORTER_LOGGER", "SdkTraces", "WatchedExporter", "build_pipeline", "otlp_exporter", "scrubbed"]
