"""An OTLP trace receiver for the duration of a run: OTLP/HTTP (protobuf) and OTLP/gRPC.

The application under test (or a real OpenTelemetry Collector forwarding to us) sends its spans here; they are
counted into a :class:`~chaoskit.tracing.spanstore.SpanStore` for the trace probes and the report. Rules:

* it listens on loopback unless told otherwise, and off loopback only with a token (``Authorization: Bearer``);
* a request body over ``max_body`` bytes (also after gzip decompression) is refused with 413 (gRPC:
  RESOURCE_EXHAUSTED), a body that is not an ``ExportTraceServiceRequest`` with 400 (INVALID_ARGUMENT), a missing
  or wrong token with 401 (UNAUTHENTICATED), JSON with 415; every refusal is counted and never disturbs the run;
* it answers on its own threads; stopping it takes at most a second.
"""

from __future__ import annotations

import gzip
import hmac
import threading
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chaoskit.errors import PluginError
from chaoskit.tracing.spanstore import SpanStore

TRACES_PATH = "/v1/traces"
_DRAIN_MAX = 64 * 1024 * 1024


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decoded per Content-Encoding, refusing anything that inflates past ``limit`` bytes."""
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise Refused(415, f"unsupported Content-Encoding {encoding!r} (use gzip, deflate or none)")
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        out = inflater.decompress(body, limit + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise Refused(400, f"the body is not valid {encoding}: {exc}") from None
    if len(out) > limit:
        raise Refused(413, f"the body inflates past the {limit}-byte limit")
    return out


def decode(body: bytes, store: SpanStore) -> int:
    """Parse an OTLP ``ExportTraceServiceRequest`` and count its spans into ``store``."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise Refused(400, f"not an OTLP ExportTraceServiceRequest: {exc}") from None
    return store.add_request(request)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    timeout = 10  # a sender that stalls mid-request is dropped, never holds a thread for long

    def do_POST(self) -> None:
        receiver = self.server.receiver
        try:
            if self.path.split("?")[0] != TRACES_PATH:
                raise Refused(404, f"only {TRACES_PATH} is served here")
            receiver.check_token(self.headers.get("Authorization", ""))
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype != "application/x-protobuf":
                raise Refused(415, f"Content-Type {ctype or 'none'}: only application/x-protobuf is accepted")
            length = int(self.headers.get("Content-Length") or -1)
            if length < 0:
                raise Refused(411, "a Content-Length is required")
            if length > receiver.max_body:
                self._drain(length)  # so the sender reads the answer instead of a broken pipe
                raise Refused(413, f"{length} bytes is over the {receiver.max_body}-byte limit")
            body = _inflate(self.rfile.read(length), self.headers.get("Content-Encoding", ""), receiver.max_body)
            decode(body, receiver.store)
        except Refused as exc:
            receiver.refuse(str(exc))
            self._answer(exc.status, str(exc).encode(), "text/plain", close=exc.status in (411, 413))
            return
        except ValueError:
            receiver.refuse("a bad Content-Length")
            self._answer(400, b"bad Content-Length", "text/plain", close=True)
            return
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        self._answer(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

    def _drain(self, length: int) -> None:
        """Read and drop a refused body, up to ``_DRAIN_MAX`` bytes (past that the connection is just closed)."""
        left = min(length, _DRAIN_MAX)
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                return
            left -= len(chunk)

    def _answer(self, status: int, body: bytes, ctype: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log on the run's terminal


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)


class Receiver:
    """Both listeners of one run. ``start`` binds them (port 0: any free port, see ``http_address``)."""

    def __init__(
        self,
        store: SpanStore,
        http: tuple[str, int] | None,
        grpc: tuple[str, int] | None = None,
        token: str | None = None,
        max_body: int = 4 * 1024 * 1024,
        on_refused: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.store = store
        self._http_at, self._grpc_at = http, grpc
        self.token = token
        self.max_body = max_body
        self.on_refused = on_refused
        self.last_refusal = ""
        self._http: _HttpServer | None = None
        self._grpc: Any = None
        self.http_address: tuple[str, int] | None = None
        self.grpc_address: tuple[str, int] | None = None

    def check_token(self, authorization: str) -> None:
        if self.token is not None and not hmac.compare_digest(authorization.encode(), f"Bearer {self.token}".encode()):
            raise Refused(401, "a valid 'Authorization: Bearer <token>' is required")

    def refuse(self, reason: str) -> None:
        self.store.count_refused()
        self.last_refusal = reason
        self.on_refused(reason)

    def start(self) -> None:
        try:
            if self._http_at is not None:
                self._http = _HttpServer(self._http_at, self)
                self.http_address = self._http.server_address[:2]  # type: ignore[assignment]
                threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
            if self._grpc_at is not None:
                from chaoskit.tracing.receiver_grpc import start_grpc

                self._grpc, self.grpc_address = start_grpc(self, self._grpc_at)
        except OSError as exc:
            self.stop()
            raise PluginError(f"tracing.receive: cannot listen: {exc}") from None

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._grpc is not None:
            self._grpc.stop(grace=0.5).wait(1.0)
            self._grpc = None
