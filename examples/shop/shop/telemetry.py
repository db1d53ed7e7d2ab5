"""OpenTelemetry for the shop's services: an own TracerProvider (never the global one), W3C trace-context
propagation in (server spans continue the caller's trace) and out (client calls carry ``traceparent``).

Spans go to a JSON-lines file (one span per line, the SDK's own JSON form) when a spans file is given, and also to
an OTLP/HTTP endpoint when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set and the exporter is
installed: the demo's launcher points it at the OTLP receiver of the experiments that judge spans
(``tracing.receive``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shop.httpkit import Handler, Route

_PROPAGATOR = TraceContextTextMapPropagator()


def _one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


def _exporters(spans_file: Path | None) -> tuple[list[SpanExporter], IO[str] | None]:
    exporters: list[SpanExporter] = []
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter,
            )
        except ImportError:
            pass  # not installed: the file only
        else:
            exporters.append(OTLPSpanExporter(timeout=5))
    if spans_file is None:
        return exporters, None
    spans_file.parent.mkdir(parents=True, exist_ok=True)
    stream = spans_file.open("a", encoding="utf-8", buffering=1)
    return [*exporters, ConsoleSpanExporter(out=stream, formatter=_one_line)], stream


class Telemetry:
    def __init__(self, service: str, spans_file: Path | None, attributes: Mapping[str, str] | None = None) -> None:
        self.service = service
        self.provider = TracerProvider(resource=Resource.create({"service.name": service, **(attributes or {})}))
        exporters, self._stream = _exporters(spans_file)
        for exporter in exporters:
            self.provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
        self.tracer = self.provider.get_tracer("chaoskit-example-shop")

    @contextmanager
    def server_span(self, name: str, headers: Mapping[str, str]) -> Iterator[trace.Span]:
        """A SERVER span that continues the caller's trace (``traceparent`` in ``headers``)."""
        parent = _PROPAGATOR.extract(carrier={k.lower(): v for k, v in headers.items()})  # urllib sends "Traceparent"
        token = otel_context.attach(parent)
        try:
            with self.tracer.start_as_current_span(name, kind=trace.SpanKind.SERVER) as span:
                yield span
        finally:
            otel_context.detach(token)

    @contextmanager
    def client_span(self, name: str, **attributes: Any) -> Iterator[dict[str, str]]:
        """A CLIENT span; yields the headers (``traceparent``) to send with the outgoing call."""
        with self.tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes) as span:
            headers: dict[str, str] = {}
            _PROPAGATOR.inject(headers)
            try:
                yield headers
            except Exception as exc:
                span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)[:200]))
                raise

    def handler(self, name: str, routes: Mapping[tuple[str, str], Route]) -> type[Handler]:
        """A :class:`shop.httpkit.Handler` class serving ``routes``, every request in a server span."""

        def on_request(handler: Handler, handle: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
            with self.server_span(
                f"{handler.command} {urlsplit(handler.path).path}", dict(handler.headers.items())
            ) as span:
                status, payload = handle()
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(trace.Status(trace.StatusCode.ERROR, f"HTTP {status}"))
                return status, payload

        return type(name, (Handler,), {"routes": dict(routes), "on_request": staticmethod(on_request)})

    def shutdown(self) -> None:
        self.provider.shutdown()
        if self._stream is not None:
            self._stream.close()
