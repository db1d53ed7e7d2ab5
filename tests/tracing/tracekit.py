"""Helpers for the tracing tests: a run helper, an in-memory span exporter, and a small HTTP service
instrumented with the OpenTelemetry SDK (its own TracerProvider, the real WSGI middleware)."""

from __future__ import annotations

import threading
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
