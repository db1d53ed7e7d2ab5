"""chaoskit's own spans, for the trace file alone: no OpenTelemetry SDK imported.

A run whose trace only goes to ``trace.json`` (no OTLP endpoint, no TracerProvider passed in: the common case)
records its spans with these small objects and writes them with chaoskit's OTLP/JSON encoder
(:mod:`chaoskit.tracing.otlp_json`), the same bytes the SDK path writes. Importing the SDK, its resources
(``psutil``) and its context machinery (an entry-point scan) costs more than the rest of a short run; exporting
to a collector still goes through the SDK and its exporters (:mod:`chaoskit.tracing.sdk`).

The objects carry exactly what the encoder reads of an SDK ``ReadableSpan``. Ids are random like the SDK's
(``random.getrandbits``); the resource holds what the SDK's ``Resource.create`` gives (``telemetry.sdk.*``,
``service.instance.id``, what ``OTEL_RESOURCE_ATTRIBUTES`` adds, then ``service.name`` and ``service.version``).
"""

from __future__ import annotations

import os
import random
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chaoskit.tracing.otlp_json import OtlpJsonFileExporter
    from chaoskit.tracing.sdk import WatchedExporter
    from chaoskit.tracing.setup import OtlpTarget

_INSTANCE: dict[int, str] = {}  # pid -> service.instance.id, as the SDK keeps one per process


class SpanKind(Enum):
    """The SDK's numbering (OTLP's is one more: the encoder adds it)."""

    INTERNAL = 0
    SERVER = 1
    CLIENT = 2
    PRODUCER = 3
    CONSUMER = 4


class StatusCode(Enum):
    UNSET = 0
    OK = 1
    ERROR = 2


# Plain classes, not dataclasses: one span is made per activity, and a frozen dataclass pays for every field.
class Status:
    __slots__ = ("description", "status_code")

    def __init__(self, status_code: StatusCode = StatusCode.UNSET, description: str | None = None) -> None:
        self.status_code = status_code
        self.description = description


UNSET = Status()
_NO_STATE: Mapping[str, str] = MappingProxyType({})


class SpanContext:
    __slots__ = ("is_remote", "span_id", "trace_id", "trace_state")

    def __init__(
        self, trace_id: int, span_id: int, is_remote: bool = False, trace_state: Mapping[str, str] = _NO_STATE
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.is_remote = is_remote
        self.trace_state = trace_state


class Resource:
    """Compared by identity (one per run), as the encoder groups spans."""

    def __init__(self, attributes: Mapping[str, Any], schema_url: str = "") -> None:
        self.attributes = attributes
        self.schema_url = schema_url


class Scope:
    def __init__(
        self,
        name: str,
        version: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        schema_url: str = "",
    ) -> None:
        self.name = name
        self.version = version
        self.attributes = attributes
        self.schema_url = schema_url


class Event:
    __slots__ = ("attributes", "dropped_attributes", "name", "timestamp")

    def __init__(self, name: str, attributes: Mapping[str, Any], timestamp: int) -> None:
        self.name = name
        self.attributes = attributes
        self.timestamp = timestamp
        self.dropped_attributes = 0


def _clean(value: Any) -> Any:
    """As the SDK keeps an attribute value: sequences as tuples."""
    return tuple(value) if isinstance(value, list) else value


def _cleaned(attributes: Mapping[str, Any]) -> Mapping[str, Any]:
    """``attributes`` with list values as tuples (the mapping itself when it has none: the usual case, checked
    in C)."""
    if list in map(type, attributes.values()):
        return {k: _clean(v) for k, v in attributes.items()}
    return attributes


class Span:
    """One span; :meth:`end` hands it to its ``on_end`` (the file exporter) once."""

    __slots__ = (
        "_on_end",
        "attributes",
        "context",
        "end_time",
        "events",
        "instrumentation_scope",
        "kind",
        "name",
        "parent",
        "resource",
        "start_time",
        "status",
    )
    dropped_attributes = 0
    dropped_events = 0
    dropped_links = 0
    links: Sequence[Any] = ()

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        resource: Resource,
        scope: Scope,
        start_time: int,
        attributes: Mapping[str, Any] | None,
        on_end: Callable[[Span], None],
    ) -> None:
        self.name = name
        self.context = context
        self.parent = parent
        self.kind = kind
        self.resource = resource
        self.instrumentation_scope = scope
        self.start_time = start_time
        self.end_time: int | None = None
        self.attributes: dict[str, Any] = dict(_cleaned(attributes)) if attributes else {}
        self.events: list[Event] = []
        self.status = UNSET
        self._on_end = on_end

    def get_span_context(self) -> SpanContext:
        return self.context

    def set_attribute(self, key: str, value: Any) -> None:
        if self.end_time is None:
            self.attributes[key] = _clean(value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self.end_time is None:
            self.attributes.update(_cleaned(attributes))

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None) -> None:
        if self.end_time is None:
            clean = {k: _clean(v) for k, v in (attributes or {}).items()}
            self.events.append(Event(name, clean, timestamp or time.time_ns()))

    def error(self, description: str) -> None:
        """Status ERROR with ``description`` (as the SDK's ``set_status(Status(ERROR, description))``)."""
        if self.end_time is None:
            self.status = Status(StatusCode.ERROR, description)

    def end(self, end_time: int | None = None) -> None:
        if self.end_time is not None:
            return
        self.end_time = end_time or time.time_ns()
        self._on_end(self)


def resource(service_name: str, service_version: str, env: Mapping[str, str] | None = None) -> Resource:
    """What ``Resource.create({"service.name": ..., "service.version": ...})`` holds."""
    from opentelemetry.sdk.version import __version__ as sdk_version  # a one-line module, not the SDK

    env = os.environ if env is None else env
    attributes: dict[str, Any] = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
        "service.instance.id": _INSTANCE.setdefault(os.getpid(), str(uuid.uuid4())),
    }
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attributes[key.strip()] = urllib.parse.unquote(value.strip())
    attributes.update({"service.name": service_name, "service.version": service_version})
    return Resource(attributes)


def headers(span: Span, baggage: Mapping[str, str]) -> dict[str, str]:
    """W3C ``traceparent`` (sampled) and ``baggage`` for ``span``, as OpenTelemetry's propagators write them."""
    context = span.context
    out = {"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-01"}
    if baggage:
        quote = urllib.parse.quote_plus
        out["baggage"] = ",".join(f"{quote(str(k))}={quote(str(v))}" for k, v in baggage.items())
    return out


class Traces(Protocol):
    """What the run's trace recorder (:mod:`chaoskit.tracing.recorder`) uses: :class:`FileTraces` (chaoskit's own
    spans) or :class:`chaoskit.tracing.sdk.SdkTraces` (the OpenTelemetry SDK's). Spans of either have
    ``set_attribute``, ``set_attributes``, ``add_event`` and ``end``."""

    owned: bool
    """False: a TracerProvider passed in (it belongs to the caller: flushed, never shut down)."""
    file: OtlpJsonFileExporter | None
    otlp: WatchedExporter | None
    target: OtlpTarget | None

    def start(
        self,
        name: str,
        parent: Any = None,
        kind: str = "internal",
        start_time: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Any: ...

    def fail(self, span: Any, description: str) -> None: ...

    def trace_id(self, span: Any) -> str: ...

    def headers(self, span: Any, baggage: Mapping[str, str]) -> dict[str, str]: ...

    def flush(self, timeout_ms: int) -> object: ...

    def shutdown(self) -> None: ...


class FileTraces:
    """chaoskit's own spans, each encoded to the trace file as it ends (nowhere when ``tracing.file`` is off)."""

    owned = True
    otlp: WatchedExporter | None = None
    target: OtlpTarget | None = None

    def __init__(self, service: str, version: str, file: OtlpJsonFileExporter | None) -> None:
        self.file = file
        self.resource = resource(service, version)
        self.scope = Scope("chaoskit", version)
        self._ended: Callable[[Span], None] = file.add if file is not None else _dropped
        """What an ended span goes to: straight to the file exporter (one call per span, no wrapper)."""

    def start(
        self,
        name: str,
        parent: Any = None,
        kind: str = "internal",
        start_time: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Span:
        span_id = random.getrandbits(64) or 1
        if parent is None:
            context, parent_context = SpanContext(random.getrandbits(128) or 1, span_id), None
        else:
            parent_context = parent.context
            context = SpanContext(parent_context.trace_id, span_id)
        return Span(
            name,
            context,
            parent_context,
            _KINDS[kind],
            self.resource,
            self.scope,
            start_time or time.time_ns(),
            attributes,
            self._ended,
        )

    def fail(self, span: Any, description: str) -> None:
        span.error(description)

    def trace_id(self, span: Any) -> str:
        return f"{span.context.trace_id:032x}"

    def headers(self, span: Any, baggage: Mapping[str, str]) -> dict[str, str]:
        return headers(span, baggage)

    def flush(self, timeout_ms: int) -> object:
        return True

    def shutdown(self) -> None:
        if self.file is not None:
            self.file.shutdown()


_KINDS = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}


def _dropped(span: Span) -> None:
    """Where an ended span goes when ``tracing.file`` is off and there is no collector: nowhere."""


__all__ = [
    "FileTraces",
    "Resource",
    "Scope",
    "Span",
    "SpanContext",
    "SpanKind",
    "Status",
    "StatusCode",
    "Traces",
    "headers",
]
