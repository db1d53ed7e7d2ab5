"""Where a run's trace goes: the local OTLP JSON file and, when an endpoint is configured, OTLP/HTTP or
OTLP/gRPC. chaoskit builds its own TracerProvider here and never sets the global one.

Precedence, for each setting: the experiment's ``tracing:`` block, then the standard variables
(``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``..._PROTOCOL``,
``OTEL_SERVICE_NAME``), then the defaults. Without an endpoint nothing is sent over the network.
Headers, certificates and compression are read by the OpenTelemetry exporters themselves from
``OTEL_EXPORTER_OTLP_*`` (so credentials stay in the environment, never in the experiment or journal).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from chaoskit import __version__
from chaoskit.errors import ChaosKitError
from chaoskit.model.experiment import TracingSpec
from chaoskit.redaction import active, scrub, scrub_text
from chaoskit.tracing.otlp_json import OtlpJsonFileExporter

Protocol = Literal["http/protobuf", "grpc"]
PROTOCOLS: tuple[Protocol, ...] = ("http/protobuf", "grpc")


class TracingConfigError(ChaosKitError):
    """The tracing configuration (experiment block or OTEL_* variables) cannot be used."""


@dataclass(frozen=True)
class OtlpTarget:
    protocol: Protocol
    endpoint: str
    """The full traces endpoint: ``http://host:4318/v1/traces`` (HTTP) or ``http://host:4317`` (gRPC)."""


def _traces_url(base: str) -> str:
    return base if base.rstrip("/").endswith("/v1/traces") else base.rstrip("/") + "/v1/traces"


def resolve_otlp(spec: TracingSpec, env: Mapping[str, str] | None = None) -> OtlpTarget | None:
    """The OTLP destination, or None when neither the experiment nor the environment names an endpoint."""
    env = os.environ if env is None else env
    where = "tracing.protocol"
    protocol: str | None = spec.protocol
    for var in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        if protocol is None and env.get(var):
            protocol, where = env[var].strip(), var
    protocol = protocol or "http/protobuf"
    if protocol not in PROTOCOLS:
        raise TracingConfigError(
            f"{where}={protocol!r}: chaoskit exports OTLP over 'http/protobuf' or 'grpc' only "
            "(the trace file next to the journal is already OTLP JSON)"
        )
    proto: Protocol = protocol
    if spec.endpoint:
        endpoint = spec.endpoint if proto == "grpc" else _traces_url(spec.endpoint)
    elif env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        endpoint = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]  # a signal endpoint is used as it is
    elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        base = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
        endpoint = base if proto == "grpc" else _traces_url(base)
    else:
        return None
    if not endpoint.startswith(("http://", "https://")):
        raise TracingConfigError(f"OTLP endpoint {endpoint!r} must start with http:// or https://")
    return OtlpTarget(proto, endpoint)


def service_name(spec: TracingSpec, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return spec.service_name or env.get("OTEL_SERVICE_NAME") or "chaoskit"


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


def reachability(endpoint: str, timeout_s: float) -> str:
    """Why an export may have failed, in words: can a TCP connection to the endpoint be made at all?"""
    url = urllib.parse.urlsplit(endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return f"{host}:{port} accepts connections"
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


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


@dataclass
class Pipeline:
    """chaoskit's own provider and what it exports to."""

    provider: TracerProvider
    file: OtlpJsonFileExporter | None
    otlp: WatchedExporter | None
    target: OtlpTarget | None


def build_pipeline(spec: TracingSpec, target: OtlpTarget | None) -> Pipeline:
    resource = Resource.create({"service.name": service_name(spec), "service.version": __version__})
    # ALWAYS_ON: a host's OTEL_TRACES_SAMPLER must not drop parts of a run's trace.
    # shutdown_on_exit=False: the run shuts it down itself, within the export timeout.
    provider = TracerProvider(resource=resource, sampler=ALWAYS_ON, shutdown_on_exit=False)
    file = None
    if spec.file:
        file = OtlpJsonFileExporter()
        provider.add_span_processor(SimpleSpanProcessor(file))
    otlp = None
    if target is not None:
        # The exporter gives up a little before the run stops waiting for it, so its reason is the one reported.
        otlp = WatchedExporter(otlp_exporter(target, spec.export_timeout * 0.8))
        timeout_ms = spec.export_timeout * 1000
        provider.add_span_processor(
            BatchSpanProcessor(otlp, schedule_delay_millis=2000, export_timeout_millis=timeout_ms)
        )
    return Pipeline(provider, file, otlp, target)
