"""A small service for the trace-receiver tests, in its own process, instrumented with the OpenTelemetry SDK and
its real OTLP exporters (``--protocol http`` or ``grpc``, to ``OTEL_EXPORTER_OTLP_ENDPOINT``).

Each ``GET /`` is a SERVER span that continues the caller's ``traceparent``, with a CLIENT span "GET dependency"
inside it. While the file ``--broken`` exists the dependency call takes 150 ms instead of 5 ms and the answer is
503 with the server span's status ERROR. It binds port 0 and writes the port it got to ``--port-file``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--broken", type=Path, required=True)
    parser.add_argument("--protocol", choices=["http", "grpc"], default="http")
    parser.add_argument("--service", default="app")
    args = parser.parse_args()
    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        exporter: Any = Grpc(insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

        exporter = Http()
    provider = TracerProvider(resource=Resource.create({"service.name": args.service}))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
    tracer = provider.get_tracer("otlp-app")
    propagator = TraceContextTextMapPropagator()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parent = propagator.extract({k.lower(): v for k, v in self.headers.items()})
            token = otel_context.attach(parent)
            broken = args.broken.exists()
            try:
                with tracer.start_as_current_span("GET /", kind=trace.SpanKind.SERVER) as span:
                    span.set_attribute("http.route", "/")
                    with tracer.start_as_current_span("GET dependency", kind=trace.SpanKind.CLIENT):
                        time.sleep(0.15 if broken else 0.005)
                    if broken:
                        span.set_status(trace.Status(trace.StatusCode.ERROR, "dependency too slow"))
            finally:
                otel_context.detach(token)
            body = b"broken" if broken else b"ok"
            self.send_response(503 if broken else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *a: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    os.replace(tmp, args.port_file)

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever(poll_interval=0.1)
    provider.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
