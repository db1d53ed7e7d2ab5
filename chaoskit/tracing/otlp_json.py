"""The run's trace as a local file in OTLP JSON: one ``ExportTraceServiceRequest`` in the OTLP/JSON
encoding (the protobuf JSON mapping with lowerCamelCase keys, trace and span ids as hex strings, 64-bit
integers as strings and enums as integers, as the OTLP specification requires). An OTLP/HTTP receiver
accepts the file as it is (``POST /v1/traces`` with ``Content-Type: application/json``).

Each span is encoded to its compact JSON text as it ends, straight from the span object (the SDK's, or
chaoskit's own when no collector is involved: :mod:`chaoskit.tracing.spans`), not through the
OTLP exporter's protobuf messages, ``MessageToDict`` and ``json.dumps`` (about 5x fewer instructions, see
``bench/trace_writer.py``); only that text is kept until the run writes the file. The file is the
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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _q  # json.dumps's own (C) string encoder
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from chaoskit.redaction import active, scrub
from chaoskit.tracing import spans as own

if TYPE_CHECKING:  # the SDK's span objects, or chaoskit's own (chaoskit.tracing.spans): the same fields
    from opentelemetry.sdk.resources import Resource as SdkResource
    from opentelemetry.sdk.trace import Event as SdkEvent
    from opentelemetry.sdk.trace import ReadableSpan as SdkSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
    from opentelemetry.trace import Link
    from opentelemetry.trace import SpanContext as SdkSpanContext

    ReadableSpan = SdkSpan | own.Span
    Resource = SdkResource | own.Resource
    InstrumentationScope = SdkScope | own.Scope
    Event = SdkEvent | own.Event
    SpanContext = SdkSpanContext | own.SpanContext

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


_KEYS: dict[str, str] = {}  # attribute key -> its encoded start; the same few keys come back on every span
_CACHED = 4096  # at most this many keys, pairs, ids in each cache below: a long run's memory stays flat


def _key(key: str) -> str:
    text = _KEYS.get(key)
    if text is None:
        text = '{"key":' + _q(key) + ',"value":'
        if len(_KEYS) < _CACHED:
            _KEYS[key] = text
    return text


class _Pairs(dict[tuple[str, Any], str]):
    """(key, text value) -> the encoded ``KeyValue``: most of a span's pairs (kind, phase, plugin, role...) come back
    on every span, and a hit is one C-level lookup. Only text values are kept: ``("k", 1)``, ``("k", True)`` and
    ``("k", 1.0)`` are equal keys, so they are always encoded and never stored."""

    def __missing__(self, item: tuple[str, Any]) -> str:
        key, value = item
        text = _key(key) + _value(value) + "}"
        if type(value) is str and len(self) < _CACHED:
            self[item] = text
        return text


_PAIRS = _Pairs()


def _attributes(attributes: Mapping[str, Any]) -> str:
    try:
        return "[" + ",".join([_PAIRS[item] for item in attributes.items()]) + "]"
    except TypeError:  # an unhashable value (a list, a mapping): no lookup, encode each pair
        return "[" + ",".join([_key(k) + _value(v) + "}" for k, v in attributes.items()]) + "]"


def _flags(parent: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if parent is not None and parent.is_remote else _HAS_IS_REMOTE


class _Hex(dict[int, str]):
    """Trace ids (and parent span ids) as hex text, formatted once: every span of a run repeats them."""

    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form

    def __missing__(self, value: int) -> str:
        text = self.form % value
        if len(self) >= _CACHED:
            self.clear()
        self[value] = text
        return text


_TRACE_HEX, _PARENT_HEX = _Hex("%032x"), _Hex("%016x")
_KIND_TEXT = {kind.value: str(kind.value + 1) for kind in own.SpanKind}  # OTLP's SpanKind counts from 0
_INTERNAL, _CLIENT = own.SpanKind.INTERNAL, own.SpanKind.CLIENT  # what chaoskit's spans are (compared by identity)
_NO_STATUS = ',"status":{}'
_LOCAL_END, _REMOTE_END = f',"flags":{_HAS_IS_REMOTE}}}', f',"flags":{_HAS_IS_REMOTE | _IS_REMOTE}}}'


def encode_span(span: ReadableSpan) -> str:
    """One span as the compact JSON text of an OTLP/JSON ``Span``: the fields in field-number order, defaults left
    out. Written for the fewest interpreter steps (this runs once per span): one f-string for the fields every
    span has, cached texts for trace ids, parents, kinds and repeated attribute pairs."""
    context = span.context
    assert context is not None
    parent = span.parent
    kind = span.kind
    kind_text = "1" if kind is _INTERNAL else "3" if kind is _CLIENT else _KIND_TEXT[kind.value]
    name, start, end = span.name, span.start_time, span.end_time
    text = f'{{"traceId":"{_TRACE_HEX[context.trace_id]}","spanId":"{context.span_id:016x}"'
    if context.trace_state:
        text += ',"traceState":' + _q(",".join(f"{k}={v}" for k, v in context.trace_state.items()))
    if parent is not None and parent.span_id:
        text += f',"parentSpanId":"{_PARENT_HEX[parent.span_id]}"'
    if name and start and end:  # every span of a run
        text += f',"name":{_q(name)},"kind":{kind_text},"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}"'
    else:
        text += (',"name":' + _q(name) if name else "") + ',"kind":' + kind_text
        text += f',"startTimeUnixNano":"{start}"' if start else ""
        text += f',"endTimeUnixNano":"{end}"' if end else ""
    attributes = span.attributes
    if attributes:
        text += ',"attributes":' + _attributes(attributes)
    if span.dropped_attributes:
        text += f',"droppedAttributesCount":{span.dropped_attributes}'
    if span.events:
        text += ',"events":[' + ",".join(map(_event, span.events)) + "]"
    if span.dropped_events:
        text += f',"droppedEventsCount":{span.dropped_events}'
    if span.links:
        text += ',"links":[' + ",".join(map(_link, span.links)) + "]"
    if span.dropped_links:
        text += f',"droppedLinksCount":{span.dropped_links}'
    status = span.status
    if status is own.UNSET:
        text += _NO_STATUS
    else:
        code, description = status.status_code.value, status.description
        if description and code:
            text += ',"status":{"message":' + _q(description) + f',"code":{code}}}'
        elif description:
            text += ',"status":{"message":' + _q(description) + "}"
        elif code:
            text += f',"status":{{"code":{code}}}'
        else:
            text += _NO_STATUS
    return text + (_REMOTE_END if parent is not None and parent.is_remote else _LOCAL_END)


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


SPOOL = "trace.partial.jsonl"
"""The spans of a run in progress, next to where its ``trace.json`` will be: one line per finished span,
``{"g": <group>, "span": <OTLP/JSON Span>}``, where a line ``{"g": <group>, "resource": ..., "scope": ...}``
before a group's first span names its resource and instrumentation scope. Appended and flushed span by span,
so a run that dies (SIGKILL, OOM) leaves a readable partial trace; removed once ``trace.json`` is written."""


class OtlpJsonFileExporter:
    """Encodes each finished span as it arrives (the SDK's span processor calls it through an adapter,
    :mod:`chaoskit.tracing.sdk`; chaoskit's own spans straight). Until :meth:`spool` names a file (the runner
    does at run start) it keeps the texts in memory; after that each one goes to the file (:data:`SPOOL`) and
    memory keeps nothing per span, whatever the run's length. :meth:`write` puts them in one OTLP JSON file."""

    def __init__(self) -> None:
        self._groups: dict[tuple[int, int], int] = {}
        self._keys: list[Group] = []  # held, so that the ids above stay theirs
        self._encoded: list[tuple[int, str]] = []  # (group, span text) until there is a spool
        self._spool: Path | None = None
        self._out: TextIO | None = None
        self._count = 0
        self._written = False
        self._lock = threading.Lock()
        self._last: tuple[Any, Any, str] = (None, None, "")
        """The last span's resource and scope (as the span has them) and its line's start: where :meth:`add` goes."""

    def _group(self, span: ReadableSpan) -> tuple[int, bool]:
        resource, scope = span.resource, span.instrumentation_scope or None
        key = (id(resource), id(scope))
        index = self._groups.get(key)
        if index is not None:
            self._last = (span.resource, span.instrumentation_scope, '{"g":' + str(index) + ',"span":')
            return index, False
        index = self._groups[key] = len(self._keys)
        self._keys.append((resource, scope))
        return index, True

    def _line(self, group: int, text: str) -> str:
        return '{"g":' + str(group) + ',"span":' + _hidden(text) + "}\n"

    def _header(self, group: int) -> str:
        resource, scope = self._keys[group]
        return (
            '{"g":' + str(group) + ',"resource":' + _hidden(_resource(resource)) + ',"scope":' + _scope(scope) + "}\n"
        )

    def spool(self, path: Path) -> None:
        """From now on, append each span to ``path`` (and the ones kept so far), flushed span by span."""
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            out = path.open("a", encoding="utf-8")
            for group in range(len(self._keys)):
                out.write(self._header(group))
            out.writelines(self._line(group, text) for group, text in self._encoded)
            out.flush()
            self._spool, self._out, self._encoded = path, out, []

    def add(self, span: ReadableSpan) -> None:
        """One span, as it ends (chaoskit's own spans): :meth:`export` of one, in fewer steps when the span's
        group (resource and scope) is the last one's and the spool is open."""
        text = encode_span(span)
        with self._lock:
            last, out = self._last, self._out
            if out is None or span.resource is not last[0] or span.instrumentation_scope is not last[1]:
                self._export([(span, text)])
                return
            self._count += 1
            out.write(last[2] + (_hidden(text) if active() else text) + "}\n")
            out.flush()

    def export(self, spans: Sequence[ReadableSpan]) -> None:
        encoded = [(span, encode_span(span)) for span in spans]
        with self._lock:
            self._export(encoded)

    def _export(self, encoded: list[tuple[ReadableSpan, str]]) -> None:
        """Under the lock."""
        for span, text in encoded:
            group, new = self._group(span)
            self._count += 1
            if self._out is None:
                self._encoded.append((group, text))
                continue
            if new:
                self._out.write(self._header(group))
            self._out.write(self._line(group, text))
        if self._out is not None:
            self._out.flush()

    def _spans(self, group: int) -> Iterator[str]:
        """The span texts of one group, from memory or, streaming, from the spool file."""
        if self._spool is None:
            yield from (_hidden(text) for g, text in self._encoded if g == group)
            return
        prefix = '{"g":' + str(group) + ',"span":'
        with self._spool.open(encoding="utf-8") as lines:
            for line in lines:
                if line.startswith(prefix) and line.endswith("}\n"):  # a torn last line is left out
                    yield line[len(prefix) : -2]

    def write(self, path: Path, received: Sequence[dict[str, Any]] = ()) -> int:
        """Write every span kept so far to ``path`` (atomically), followed by ``received`` (OTLP/JSON
        ``resourceSpans`` entries: the application's spans the run received); return how many of ours.
        Streams from the spool: memory stays flat however many spans the run made."""
        with self._lock:
            if self._out is not None:
                self._out.flush()
            count = self._count
            by_resource: dict[Resource, list[tuple[InstrumentationScope | None, int]]] = {}
            for group, (resource, scope) in enumerate(self._keys):
                by_resource.setdefault(resource, []).append((scope, group))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            with tmp.open("w", encoding="utf-8") as out:
                if not by_resource and not received:
                    out.write("{}")
                else:
                    out.write('{"resourceSpans":[')
                    for i, (resource, scopes) in enumerate(by_resource.items()):
                        out.write("," if i else "")
                        self._write_resource(out, resource, scopes)
                    for i, entry in enumerate(received):
                        out.write("," if i or by_resource else "")
                        out.write(_hidden(json.dumps(entry, separators=(",", ":"))))
                    out.write("]}")
            os.replace(tmp, path)
            self._written = True
        return count

    def _write_resource(
        self, out: TextIO, resource: Resource, scopes: list[tuple[InstrumentationScope | None, int]]
    ) -> None:
        out.write('{"resource":' + _hidden(_resource(resource)) + ',"scopeSpans":[')
        for j, (scope, group) in enumerate(scopes):
            out.write(("," if j else "") + '{"scope":' + _scope(scope) + ',"spans":[')
            for k, text in enumerate(self._spans(group)):
                out.write(("," if k else "") + text)
            schema = f',"schemaUrl":{_q(scope.schema_url)}' if scope is not None and scope.schema_url else ""
            out.write("]" + schema + "}")
        schema = f',"schemaUrl":{_q(resource.schema_url)}' if resource.schema_url else ""
        out.write("]" + schema + "}")

    def shutdown(self) -> None:
        """Close the spool; once ``trace.json`` is written it is no longer needed."""
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None
            if self._spool is not None and self._written:
                self._spool.unlink(missing_ok=True)


def _hidden(text: str) -> str:
    """JSON text with secrets hidden (chaoskit.redaction) in its values only (numbers stay typed)."""
    if not active():
        return text
    return json.dumps(scrub(json.loads(text), numbers=False), separators=(",", ":"))


__all__ = ["SPOOL", "OtlpJsonFileExporter", "document", "encode_span", "otlp_json", "resource_spans"]
