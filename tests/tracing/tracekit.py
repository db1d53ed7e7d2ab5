"""Helpers for the tracing tests: a run helper, an in-memory span exporter, and a small HTTP service
instrumented with the OpenTelemetry SDK (its own TracerProvider, the real WSGI middleware)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chaoskit.loader import validate_document
from chaoskit.model.journal import Journal
from chaoskit.ports import free_port, wait_listening
from chaoskit.runner import RunOptions, run_experiment


def run_doc(doc: dict[str, Any], tmp_path: Path, provider: Any = None, env: dict[str, str] | None = None) -> Journal:
    """Run an experiment document in-process (no signal handlers) with its work dir in ``tmp_path``."""
    source = tmp_path / "experiment.yaml"
    source.write_text("# written by the test\n")
    loaded = validate_document(doc, source=str(source), env=env)
    options = RunOptions(out_dir=tmp_path / "runs", handle_signals=False, tracer_provider=provider)
    return run_experiment(loaded, options)


@dataclass
class Recorded:
    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Recorded(provider, exporter)
    provider.shutdown()


@dataclass
class TracedService:
    """A service with its own OpenTelemetry SDK provider: every request becomes a SERVER span."""

    url: str
    exporter: InMemorySpanExporter
    status: int = 200
    headers_seen: list[dict[str, str]] = field(default_factory=list)

    def server_spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog (5) stalls under concurrent probes


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def traced_service() -> Iterator[TracedService]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = TracedService(url="", exporter=exporter)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        service.headers_seen.append(
            {k[5:].lower().replace("_", "-"): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        )
        body = b'{"status": "up"}'
        start_response(
            f"{service.status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    server = make_server(
        "127.0.0.1",
        0,
        OpenTelemetryMiddleware(app, tracer_provider=provider),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield service
    server.shutdown()
    server.server_close()
    provider.shutdown()


# -- a real OpenTelemetry Collector (built by scripts/setup-otelcol.sh) ---------------------------------
def otelcol_binary() -> Path | None:
    explicit = os.environ.get("CHAOSKIT_OTELCOL")
    if explicit:
        return Path(explicit)
    cache = Path(os.environ.get("CHAOSKIT_CACHE") or Path.home() / ".cache" / "chaoskit") / "otelcol"
    found = sorted(cache.glob("*/chaoskit-otelcol"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


@dataclass
class Collector:
    http_port: int
    grpc_port: int
    out: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def spans(self) -> list[dict[str, Any]]:
        """Every span the collector's file exporter wrote so far (OTLP JSON), with its service.name."""
        found: list[dict[str, Any]] = []
        if not self.out.exists():
            return found
        for line in self.out.read_text().splitlines():
            if not line.strip():
                continue
            for rs in json.loads(line).get("resourceSpans", []):
                attrs = {a["key"]: a["value"] for a in rs.get("resource", {}).get("attributes", [])}
                service = attrs.get("service.name", {}).get("stringValue")
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        found.append({**span, "service": service})
        return found

    def wait_for_trace(self, trace_id: str, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        end = time.monotonic() + timeout
        spans: list[dict[str, Any]] = []
        while time.monotonic() < end:
            spans = [s for s in self.spans() if s["traceId"] == trace_id]
            if len(spans) >= count:
                return spans
            if self.process.poll() is not None:
                raise RuntimeError(f"the collector exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        raise AssertionError(f"collector received {len(spans)} of {count} spans of trace {trace_id} in {timeout}s")


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    binary = otelcol_binary()
    if binary is None or not binary.exists():
        message = "no OpenTelemetry Collector built: run scripts/setup-otelcol.sh (needs Go)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    http_port, grpc_port = free_port(), free_port()
    out = tmp_path / "collector" / "spans.jsonl"
    out.parent.mkdir()
    config = tmp_path / "collector" / "config.yaml"
    config.write_text(
        "receivers:\n"
        "  otlp:\n"
        "    protocols:\n"
        f"      http: {{endpoint: '127.0.0.1:{http_port}'}}\n"
        f"      grpc: {{endpoint: '127.0.0.1:{grpc_port}'}}\n"
        "exporters:\n"
        f"  file: {{path: '{out}', flush_interval: 100ms}}\n"
        "service:\n"
        "  telemetry: {metrics: {level: none}}\n"
        "  pipelines:\n"
        "    traces: {receivers: [otlp], exporters: [file]}\n"
    )
    log = tmp_path / "collector" / "collector.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([str(binary), "--config", f"file:{config}"], stdout=sink, stderr=subprocess.STDOUT)
    try:
        # The ports go in a config file, so they are chosen ahead (chaoskit.ports.free_port); check that the
        # collector itself listens on them, not someone else who took one meanwhile.
        got = wait_listening(process, "the OpenTelemetry Collector", timeout=30, count=2)
        assert {http_port, grpc_port} <= set(got), f"collector listens on {got}, not {http_port}+{grpc_port}"
        yield Collector(http_port, grpc_port, out, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def file_spans(path: Path) -> list[dict[str, Any]]:
    """The spans of a trace.json written by chaoskit (OTLP JSON)."""
    doc = json.loads(path.read_text())
    return [span for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for span in ss["spans"]]
