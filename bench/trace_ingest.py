"""Receiving spans: chaoskit's OTLP/HTTP receiver (``tracing.receive``) vs the real OpenTelemetry Collector, side by
side in one run, on the same pre-encoded requests.

Each receiver runs in its own process; a client process POSTs ``--requests`` OTLP/HTTP protobuf requests of
``--spans`` spans each (one connection, keep-alive) as fast as they are answered. Reported per receiver: spans/s
(wall, client side) and CPU time per span of the receiver process (utime + stime from /proc, before and after).
The Collector runs its OTLP receiver into a file exporter writing to /dev/null (the cheapest pipeline it has);
chaoskit counts every span into its span store (aggregates per second and key) and keeps a 5,000-span sample.

    .venv/bin/python bench/trace_ingest.py                       # 3 rounds, 400 requests x 100 spans
    .venv/bin/python bench/trace_ingest.py --rounds 5 --requests 1000
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chaoskit.ports import free_port  # noqa: E402
from tests.conftest import wait_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")

CHAOSKIT_SERVER = """
import sys, time
from chaoskit.tracing.receiver import Receiver
from chaoskit.tracing.spanstore import SpanStore
receiver = Receiver(SpanStore(), ("127.0.0.1", int(sys.argv[1])))
receiver.start()
print("ready", flush=True)
sys.stdin.read()
"""


def payload(spans: int) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="bench")))
    ss = rs.scope_spans.add()
    now = time.time_ns()
    for i in range(spans):
        ss.spans.append(
            Span(
                trace_id=random.randbytes(16),
                span_id=random.randbytes(8),
                parent_span_id=random.randbytes(8),
                name=f"GET /items/{i % 10}",
                kind=Span.SPAN_KIND_SERVER,
                start_time_unix_nano=now - 5_000_000,
                end_time_unix_nano=now,
                attributes=[
                    KeyValue(key="http.route", value=AnyValue(string_value="/items/{id}")),
                    KeyValue(key="http.response.status_code", value=AnyValue(int_value=200)),
                ],
            )
        )
    return req.SerializeToString()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def blast(port: int, body: bytes, requests: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-protobuf"}
    start = time.perf_counter()
    for _ in range(requests):
        conn.request("POST", "/v1/traces", body, headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"receiver answered {answer.status}")
    wall = time.perf_counter() - start
    conn.close()
    return wall


def start_chaoskit(port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", CHAOSKIT_SERVER, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def start_collector(binary: Path, port: int, work: Path) -> subprocess.Popen[str]:
    config = work / f"collector-{port}.yaml"
    config.write_text(
        "receivers:\n"
        f"  otlp: {{protocols: {{http: {{endpoint: '127.0.0.1:{port}'}}}}}}\n"
        "exporters:\n"
        "  file: {path: /dev/null}\n"
        "service:\n"
        "  telemetry: {metrics: {level: none}}\n"
        "  pipelines:\n"
        "    traces: {receivers: [otlp], exporters: [file]}\n"
    )
    process = subprocess.Popen(
        [str(binary), "--config", f"file:{config}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    wait_port(port, 30)
    return process


def measure(start: object, body: bytes, requests: int, spans: int) -> tuple[float, float]:
    port = free_port()
    process = start(port)  # type: ignore[operator]
    try:
        blast(port, body, 20)  # warm up
        before = cpu_seconds(process.pid)
        wall = blast(port, body, requests)
        cpu = cpu_seconds(process.pid) - before
    finally:
        process.terminate()
        process.wait(timeout=15)
    total = requests * spans
    return total / wall, cpu / total * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--spans", type=int, default=100)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / ".."))
    from tests.tracing.tracekit import otelcol_binary

    binary = otelcol_binary()
    if binary is None or not binary.exists():
        sys.exit("no OpenTelemetry Collector built: run scripts/setup-otelcol.sh")
    body = payload(args.spans)
    results: dict[str, list[tuple[float, float]]] = {"chaoskit": [], "otelcol": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for round_ in range(args.rounds):
            order = ["chaoskit", "otelcol"] if round_ % 2 == 0 else ["otelcol", "chaoskit"]
            for name in order:
                start = start_chaoskit if name == "chaoskit" else lambda port: start_collector(binary, port, work)
                results[name].append(measure(start, body, args.requests, args.spans))
    print(f"{args.rounds} rounds x {args.requests} requests x {args.spans} spans ({len(body)} bytes per request)")
    print(f"{'receiver':<10} {'spans/s (median, min-max)':>30} {'CPU us/span (median, min-max)':>32}")
    for name, rows in results.items():
        rates, cpus = [r for r, _ in rows], [c for _, c in rows]
        print(
            f"{name:<10} {statistics.median(rates):>12,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"
            f" {statistics.median(cpus):>14.1f} ({min(cpus):.1f}-{max(cpus):.1f})"
        )


if __name__ == "__main__":
    main()
