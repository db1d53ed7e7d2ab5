"""chaoskit's own OTLP/JSON encoder writes exactly what the OpenTelemetry exporter's protobuf encoder and
``MessageToDict`` would (the reference, with ids as hex): same keys, same order, same values."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from chaoskit.tracing.otlp_json import SPOOL, OtlpJsonFileExporter, otlp_json
from tests.tracing.test_structure import _experiment
from tests.tracing.tracekit import Recorded, run_doc

_IDS = {"traceId", "spanId", "parentSpanId"}


def _hex_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex() if k in _IDS and isinstance(v, str) else _hex_ids(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def _reference(spans: list[ReadableSpan]) -> str:
    """The SDK's path: protobuf messages, MessageToDict, ids as hex, compact json.dumps."""
    document = _hex_ids(MessageToDict(encode_spans(spans), use_integers_for_enums=True))
    return json.dumps(document, separators=(",", ":"))


def _every_feature() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", "n": 3, "ratio": 0.5}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("chaoskit", "1.2.3")
    values = {
        "s": "x",
        "empty": "",
        "zero": 0,
        "big": 2**62,
        "neg": -5,
        "f": 1.5,
        "f0": 0.0,
        "nan": float("nan"),
        "inf": float("-inf"),
        "t": True,
        "no": False,
        "ints": [1, 2],
        "strs": ["a", ""],
        "none": [],
        "b": b"\x00\x01",
    }
    state = TraceState([("vendor", "v1"), ("k", "2")])
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED), trace_state=state)
    with tracer.start_as_current_span(
        "root", kind=SpanKind.SERVER, context=set_span_in_context(NonRecordingSpan(remote)), attributes=values
    ) as root:
        root.add_event("plain")
        root.add_event("with attributes", {"k": 1, "l": ["x"]})
        links = [Link(root.get_span_context(), {"why": "because"}), Link(remote)]
        with tracer.start_as_current_span("linked", kind=SpanKind.CLIENT, links=links) as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
        with tracer.start_as_current_span("ok", kind=SpanKind.PRODUCER) as ok:
            ok.set_status(Status(StatusCode.OK))
    with provider.get_tracer("other").start_as_current_span("consumer", kind=SpanKind.CONSUMER):
        pass
    second = TracerProvider(resource=Resource.create({"service.name": "second"}))
    second.add_span_processor(SimpleSpanProcessor(exporter))
    with second.get_tracer("x").start_as_current_span("y"):
        pass
    return list(exporter.get_finished_spans())


def test_every_span_feature_encodes_as_the_sdk_does() -> None:
    spans = _every_feature()
    assert len(spans) == 5
    assert otlp_json(spans) == _reference(spans)
    assert otlp_json([]) == _reference([]) == "{}"


def test_a_real_runs_spans_encode_as_the_sdk_does(tmp_path: Path, http_service: Any, recorded: Recorded) -> None:
    http_service.state.status = 200
    run_doc(_experiment(http_service.url), tmp_path, recorded.provider)
    spans = recorded.spans()
    assert len(spans) > 10
    assert otlp_json(spans) == _reference(spans)


def test_the_file_exporter_writes_compact_otlp_json(tmp_path: Path) -> None:
    spans = _every_feature()
    exporter = OtlpJsonFileExporter()
    exporter.export(spans[:2])
    exporter.export(spans[2:])
    assert exporter.write(tmp_path / "trace.json") == 5
    assert (tmp_path / "trace.json").read_text() == _reference(spans)


def test_spans_spool_to_disk_as_they_end_and_the_file_is_the_same(tmp_path: Path) -> None:
    spans = _every_feature()
    spool = tmp_path / "run" / SPOOL
    exporter = OtlpJsonFileExporter()
    exporter.export(spans[:2])  # before the spool: kept in memory, then moved to the file
    exporter.spool(spool)
    exporter.export(spans[2:])
    lines = [json.loads(line) for line in spool.read_text().splitlines()]
    assert [line["span"]["name"] for line in lines if "span" in line] == [s.name for s in spans]
    headers = [line for line in lines if "resource" in line]
    assert [h["g"] for h in headers] == list(range(len(headers))) and len(headers) == 3  # (resource, scope) pairs
    assert exporter.write(tmp_path / "run" / "trace.json") == 5
    assert (tmp_path / "run" / "trace.json").read_text() == _reference(spans)
    exporter.shutdown()
    assert not spool.exists()


KILLED = """
import sys
from pathlib import Path
from chaoskit.loader import validate_document
from chaoskit.runner import RunOptions, run_experiment
doc = {"title": "killed", "steady_state": {"strategy": "continuous", "frequency": "50ms", "probes": [
    {"name": "always", "probe": "python", "with": {"function": "json:dumps", "args": [1]}, "expect": {"equals": "1"}}]},
    "method": [{"pause": "60s"}]}
run_experiment(validate_document(doc, source="exp.yaml"), RunOptions(run_dir=Path(sys.argv[1]), handle_signals=False))
"""


def test_a_killed_run_leaves_a_readable_partial_trace(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(run_dir)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            spool = run_dir / SPOOL
            if spool.exists() and spool.read_text().count('"span"') >= 5:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"no spans spooled to {run_dir / SPOOL} within 60 s")
    finally:
        proc.kill()
        proc.wait(timeout=30)
    lines = (run_dir / SPOOL).read_text().splitlines()
    parsed = [json.loads(line) for line in lines if line.endswith("}")]
    assert "service.name" in {a["key"] for a in parsed[0]["resource"]["attributes"]}
    spans = [line["span"] for line in parsed if "span" in line]
    assert len(spans) >= 5 and all(len(s["traceId"]) == 32 and s["name"] for s in spans)
    assert any(s["name"] == "probe always" for s in spans), [s["name"] for s in spans]
    assert not (run_dir / "trace.json").exists()


def test_repeated_and_equal_values_of_other_types_encode_each_as_itself() -> None:
    """The encoder keeps the text of (key, text value) pairs it saw: 1, True and 1.0 are equal keys in Python, so
    a pair of another type must never come out as the text of an earlier one."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("chaoskit")
    for value in ["1", 1, True, 1.0, "1", True, 1, ["1"], "True"]:
        with tracer.start_as_current_span("s", attributes={"k": value, "same": "again"}):
            pass
    spans = list(exporter.get_finished_spans())
    assert otlp_json(spans) == otlp_json(spans) == _reference(spans)
    values = [
        s["attributes"][0]["value"] for s in json.loads(otlp_json(spans))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    ]
    assert values[:4] == [{"stringValue": "1"}, {"intValue": "1"}, {"boolValue": True}, {"doubleValue": 1.0}]
