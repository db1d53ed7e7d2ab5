"""The run's trace as a local file in OTLP JSON: one ``ExportTraceServiceRequest`` in the OTLP/JSON
encoding (the protobuf JSON mapping with lowerCamelCase keys, trace and span ids as hex strings and enums
as integers, as the OTLP specification requires). An OTLP/HTTP receiver accepts the file as it is
(``POST /v1/traces`` with ``Content-Type: application/json``)."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def hex_ids(node: Any) -> Any:
    """The protobuf JSON mapping writes bytes as base64; OTLP/JSON wants trace and span ids as hex."""
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex() if k in _ID_KEYS and isinstance(v, str) else hex_ids(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [hex_ids(v) for v in node]
    return node


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """``spans`` as an OTLP/JSON ``ExportTraceServiceRequest`` (a JSON-able dict)."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    message = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    result: dict[str, Any] = hex_ids(message)
    return result


class OtlpJsonFileExporter(SpanExporter):
    """Keeps the run's finished spans; :meth:`write` puts them in one OTLP JSON file."""

    def __init__(self) -> None:
        self._spans: list[ReadableSpan] = []
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self._spans.extend(spans)
        return SpanExportResult.SUCCESS

    def write(self, path: Path, received: Sequence[dict[str, Any]] = ()) -> int:
        """Write every span kept so far to ``path`` (atomically), followed by ``received`` (OTLP/JSON
        ``resourceSpans`` entries: the application's spans the run received); return how many of ours."""
        with self._lock:
            spans = list(self._spans)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        document = otlp_json(spans)
        if received:
            document.setdefault("resourceSpans", []).extend(received)
        tmp.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")  # compact: 3x smaller
        os.replace(tmp, path)
        return len(spans)

    def shutdown(self) -> None:
        pass
