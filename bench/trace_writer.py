"""Writing ``trace.json``: chaoskit's own OTLP/JSON encoder vs the OpenTelemetry SDK's path (the OTLP
exporter's protobuf encoder + ``MessageToDict`` + ids as hex), side by side on the same spans.

The spans have the shape of chaoskit's probe spans (13 attributes: strings, ints, floats, a bool; a parent;
every 10th one an event), made by a real SDK TracerProvider. Both encoders produce the same text,
byte for byte (checked here and in ``tests/tracing/test_otlp_json.py``): the SDK's path ends with a compact
``json.dumps``, chaoskit's writes the JSON text itself.

* headline: instructions per span (callgrind; a child process builds the spans, then encodes them or not;
  the difference over the number of spans);
* wall time per span, in process, alternating the encoders over ``--rounds`` rounds (median).

    .venv/bin/python bench/trace_writer.py [--spans 2000] [--rounds 7] [--no-callgrind]

Target (issue 22): <= 0.1 ms per span.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
_IDS = {"traceId", "spanId", "parentSpanId"}


def make_spans(n: int) -> list[Any]:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "chaoskit", "service.version": "0.1.0"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("chaoskit", "0.1.0")
    with tracer.start_as_current_span("chaoskit run"):
        for i in range(n - 1):
            with tracer.start_as_current_span(f"probe health {i % 7}") as span:
                span.set_attributes(
                    {
                        "chaoskit.activity.kind": "probe",
                        "chaoskit.activity.name": f"health {i % 7}",
                        "chaoskit.phase": "method",
                        "chaoskit.probe.role": "continuous",
                        "url.full": "http://127.0.0.1:8080/health",
                        "http.request.method": "GET",
                        "chaoskit.plugin": "http",
                        "chaoskit.probe.duration_s": 0.0123 + i / 1e6,
                        "chaoskit.probe.reason": "",
                        "chaoskit.probe.ok": i % 5 != 0,
                        "chaoskit.probe.value": "200",
                        "http.response.status_code": 200,
                        "chaoskit.probe.latency_ms": 12.3,
                    }
                )
                if i % 10 == 0:
                    span.add_event("fault injected", {"chaoskit.fault": "latency"})
    return list(exporter.get_finished_spans())


def _hex_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex() if k in _IDS and isinstance(v, str) else _hex_ids(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def encode_sdk(spans: list[Any]) -> str:
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    document = _hex_ids(MessageToDict(encode_spans(spans), use_integers_for_enums=True))
    return json.dumps(document, separators=(",", ":"))


def encode_chaoskit(spans: list[Any]) -> str:
    from chaoskit.tracing.otlp_json import otlp_json

    return otlp_json(spans)  # already the compact JSON text


ENCODERS = {"sdk": encode_sdk, "chaoskit": encode_chaoskit}


def child(mode: str, n: int) -> None:
    """Build the spans (and import both encoders' modules), then encode with ``mode`` or not at all."""
    import google.protobuf.json_format  # noqa: F401
    import opentelemetry.exporter.otlp.proto.common.trace_encoder  # noqa: F401

    import chaoskit.tracing.otlp_json  # noqa: F401

    spans = make_spans(n)
    if mode != "none":
        ENCODERS[mode](spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    parser.add_argument("--child", choices=["none", *ENCODERS], help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.spans)
        return
    if args.spans < 10 or args.rounds < 1:
        parser.error("--spans must be at least 10 and --rounds at least 1")

    spans = make_spans(args.spans)
    same = encode_sdk(spans) == encode_chaoskit(spans)
    walls: dict[str, list[float]] = {name: [] for name in ENCODERS}
    for round_no in range(args.rounds):
        order = list(ENCODERS) if round_no % 2 == 0 else list(reversed(ENCODERS))
        for name in order:
            started = time.perf_counter()
            ENCODERS[name](spans)
            walls[name].append((time.perf_counter() - started) / len(spans) * 1000)
    results: dict[str, Any] = {"spans": len(spans), "identical_output": same, "wall_ms_per_span": {}}
    for name, values in walls.items():
        results["wall_ms_per_span"][name] = {"median": statistics.median(values), "min": min(values)}

    if not args.no_callgrind:
        from callgrind import instructions

        base = [sys.executable, str(Path(__file__).resolve()), "--spans", str(args.spans), "--child"]
        counts = {mode: instructions([*base, mode]) for mode in ("none", *ENCODERS)}
        results["instructions_per_span"] = {name: (counts[name] - counts["none"]) / len(spans) for name in ENCODERS}

    print(f"trace.json writing, {len(spans)} chaoskit-shaped spans (same document from both: {same})")
    print(f"  {'':10} {'instructions/span':>18} {'wall ms/span (median, min)':>28}")
    for name in ENCODERS:
        per = results.get("instructions_per_span", {}).get(name)
        wall = results["wall_ms_per_span"][name]
        shown = f"{per:,.0f}" if per is not None else "-"
        print(f"  {name:10} {shown:>18} {wall['median']:>18.4f} ({wall['min']:.4f})")
    if "instructions_per_span" in results:
        per = results["instructions_per_span"]
        print(f"  chaoskit / sdk: x{per['chaoskit'] / per['sdk']:.3f} instructions")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if not same:
        raise SystemExit("the two encoders wrote different documents")


if __name__ == "__main__":
    main()
