"""The run's trace as a local file in OTLP JSON: one ``ExportTraceServiceRequest`` in the OTLP/JSON
encoding (the protobuf JSON mapping with lowerCamelCase keys, trace and span ids as hex strings, 64-bit
integers as strings and enums as integers, as the OTLP specification requires). An OTLP/HTTP receiver
accepts the file as it is (``POST /v1/traces`` with ``Content-Type: application/json``).

Each span is encoded to its compact JSON text as it ends, straight from the SDK's span (not through the
OTLP exporter's protobuf messages, ``MessageToDict`` and ``json.dumps``: about 5x fewer instructions, see
``bench/trace_writer.py``), and only that text is kept until the run writes the file. The file is the
same document the SDK's path writes, byte for byte (fields in field-number order, defaults left out as the
protobuf JSON mapping does, ``json.dumps``'s compact ASCII form): ``tests/tracing/test_otlp_json.py``
compares the two on every span feature and on a real run.
"""

from __future__ import annotations

import base64
import json
import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _q  # json.dumps's own (C) string encoder
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from chaoskit.redaction import active, scrub

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link, SpanContext

_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200  # SpanFlags masks


def _value(value: Any) -> str:
    """An ``AnyValue`` (the exact common types first; then the SDK encoder's order of checks)."""
    kind = type(value)
    if kind is str:
        return '{"stringValue":' + _q(value) + "}"
    if kind is int:
        return '{"intValue":"' + str(value) + '"}'
    if kind is float and math.isfinite(value):
        return '{"doubleValue":' + repr(value) + "}"
    if value is None:
        return "{}"
    if isinstance(value, bool):
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, str):
        return '{"stringValue":' + _q(value) + "}"
    if isinstance(value, int):
        return '{"intValue":"' + int.__repr__(value) + '"}'
    if isinstance(value, float):
        return '{"doubleValue":' + (float.__repr__(value) if math.isfinite(value) else _q(_special(value))) + "}"
    if isinstance(value, bytes):
        return '{"bytesValue":"' + base64.b64encode(value).decode() + '"}'
    if isinstance(value, Sequence):
        return '{"arrayValue":' + ('{"values":[' + ",".join(map(_value, value)) + "]}" if value else "{}") + "}"
    if isinstance(value, Mapping):
        pairs = ",".join('{"key":' + _q(str(k)) + ',"value":' + _value(v) + "}" for k, v in value.items())
        return '{"kvlistValue":' + ('{"values":[' + pairs + "]}" if pairs else "{}") + "}"
    raise TypeError(f"cannot encode {type(value).__name__} {value!r} as an OTLP attribute value")


def _special(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _attributes(attributes: Mapping[str, Any]) -> str:
    return "[" + ",".join('{"key":' + _q(k) + ',"value":' + _value(v) + "}" for k, v in attributes.items()) + "]"


def _flags(parent: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if parent is not None and parent.is_remote else _HAS_IS_REMOTE


def encode_span(span: ReadableSpan) -> str:
    """One span as the compact JSON text of an OTLP/JSON ``Span`` (inlined: this runs once per span)."""
    context = span.get_span_context()
    assert context is not None
    parts = ['{"traceId":"', f"{context.trace_id:032x}", '","spanId":"', f"{context.span_id:016x}", '"']
    if context.trace_state:
        parts += [',"traceState":', _q(",".join(f"{k}={v}" for k, v in context.trace_state.items()))]
    parent = span.parent
    if parent is not None and parent.span_id:
        parts += [',"parentSpanId":"', f"{parent.span_id:016x}", '"']
    if span.name:
        parts += [',"name":', _q(span.name)]
    parts += [',"kind":', str(span.kind.value + 1)]  # OTLP's SpanKind counts from UNSPECIFIED = 0
    if span.start_time:
        parts += [',"startTimeUnixNano":"', str(span.start_time), '"']
    if span.end_time:
        parts += [',"endTimeUnixNano":"', str(span.end_time), '"']
    attributes = span.attributes
    if attributes:
        parts += [',"attributes":', _attributes(attributes)]
    if span.dropped_attributes:
        parts += [',"droppedAttributesCount":', str(span.dropped_attributes)]
    if span.events:
        parts += [',"events":[', ",".join(map(_event, span.events)), "]"]
    if span.dropped_events:
        parts += [',"droppedEventsCount":', str(span.dropped_events)]
    if span.links:
        parts += [',"links":[', ",".join(map(_link, span.links)), "]"]
    if span.dropped_links:
        parts += [',"droppedLinksCount":', str(span.dropped_links)]
    status = span.status
    if status.description and status.status_code.value:
        parts += [',"status":{"message":', _q(status.description), ',"code":', str(status.status_code.value), "}"]
    elif status.description:
        parts += [',"status":{"message":', _q(status.description), "}"]
    elif status.status_code.value:
        parts += [',"status":{"code":', str(status.status_code.value), "}"]
    else:
        parts.append(',"status":{}')
    parts += [',"flags":', str(_flags(parent)), "}"]
    return "".join(parts)


def _event(event: Event) -> str:
    parts = []
    if event.timestamp:
        parts.append(f'"timeUnixNano":"{event.timestamp}"')
    if event.name:
        parts.append('"name":' + _q(event.name))
    if event.attributes:
        parts.append('"attributes":' + _attributes(event.attributes))
    if event.dropped_attributes:
        parts.append(f'"droppedAttributesCount":{event.dropped_attributes}')
    return "{" + ",".join(parts) + "}"


def _link(link: Link) -> str:
    parts = [f'"traceId":"{link.context.trace_id:032x}"', f'"spanId":"{link.context.span_id:016x}"']
    if link.attributes:
        parts.append('"attributes":' + _attributes(link.attributes))
    if link.dropped_attributes:
        parts.append(f'"droppedAttributesCount":{link.dropped_attributes}')
    parts.append(f'"flags":{_flags(link.context)}')
    return "{" + ",".join(parts) + "}"


def _resource(resource: Resource) -> str:
    return '{"attributes":' + _attributes(resource.attributes) + "}" if resource.attributes else "{}"


def _scope(scope: InstrumentationScope | None) -> str:
    parts = []
    if scope is not None:
        if scope.name:
            parts.append('"name":' + _q(scope.name))
        if scope.version:
            parts.append('"version":' + _q(scope.version))
        if scope.attributes:
            parts.append('"attributes":' + _attributes(scope.attributes))
    return "{" + ",".join(parts) + "}"


Group = tuple["Resource", "InstrumentationScope | None"]


def otlp_json(spans: Sequence[ReadableSpan]) -> str:
    """``spans`` as the compact JSON text of an OTLP/JSON ``ExportTraceServiceRequest``."""
    return document(
        resource_spans((span.resource, span.instrumentation_scope or None, encode_span(span)) for span in spans)
    )


def document(resource_spans: Sequence[str]) -> str:
    """``ExportTraceServiceRequest`` text from ``ResourceSpans`` texts."""
    return '{"resourceSpans":[' + ",".join(resource_spans) + "]}" if resource_spans else "{}"


def resource_spans(encoded: Iterable[tuple[Resource, InstrumentationScope | None, str]]) -> list[str]:
    """Encoded spans (with their resource and scope) as ``ResourceSpans`` texts, grouped by resource, then
    scope, in the order they first appear. Grouped by identity first (an SDK ``Resource`` hashes by
    serialising its attributes, on every call), then by equality."""
    by_id: dict[tuple[int, int], list[str]] = {}
    keys: dict[tuple[int, int], Group] = {}
    for resource, scope, text in encoded:
        key = (id(resource), id(scope))
        if key not in by_id:
            by_id[key], keys[key] = [], (resource, scope)
        by_id[key].append(text)
    groups: dict[Resource, dict[InstrumentationScope | None, list[str]]] = {}
    for key, texts in by_id.items():
        resource, scope = keys[key]
        groups.setdefault(resource, {}).setdefault(scope, []).extend(texts)
    out = []
    for resource, by_scope in groups.items():
        scope_spans = []
        for scope, texts in by_scope.items():
            schema = f',"schemaUrl":{_q(scope.schema_url)}' if scope is not None and scope.schema_url else ""
            scope_spans.append('{"scope":' + _scope(scope) + ',"spans":[' + ",".join(texts) + "]" + schema + "}")
        schema = f',"schemaUrl":{_q(resource.schema_url)}' if resource.schema_url else ""
        out.append(
            '{"resource":' + _resource(resource) + ',"scopeSpans":[' + ",".join(scope_spans) + "]" + schema + "}"
        )
    return out


class OtlpJsonFileExporter(SpanExporter):
    """Encodes each finished span as it arrives and keeps its text (a few hundred bytes, not the SDK's span
    object); :meth:`write` puts them in one OTLP JSON file."""

    def __init__(self) -> None:
        self._encoded: list[tuple[Resource, InstrumentationScope | None, str]] = []
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encoded = [(span.resource, span.instrumentation_scope or None, encode_span(span)) for span in spans]
        with self._lock:
            self._encoded.extend(encoded)
        return SpanExportResult.SUCCESS

    def write(self, path: Path, received: Sequence[dict[str, Any]] = ()) -> int:
        """Write every span kept so far to ``path`` (atomically), followed by ``received`` (OTLP/JSON
        ``resourceSpans`` entries: the application's spans the run received); return how many of ours."""
        with self._lock:
            encoded = list(self._encoded)
        texts = resource_spans(encoded) + [json.dumps(entry, separators=(",", ":")) for entry in received]
        text = document(texts)
        if active():  # secrets hidden (chaoskit.redaction), in the values only: numbers stay typed
            text = json.dumps(scrub(json.loads(text), numbers=False), separators=(",", ":"))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return len(encoded)

    def shutdown(self) -> None:
        pass


__all__ = ["OtlpJsonFileExporter", "document", "encode_span", "otlp_json", "resource_spans"]
