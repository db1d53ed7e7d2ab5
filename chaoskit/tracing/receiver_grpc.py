"""The OTLP/gRPC side of the receiver (``TraceService/Export``). Needs grpcio: ``pip install 'chaoskit[grpc]'``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from chaoskit.errors import PluginError

if TYPE_CHECKING:
    from chaoskit.tracing.receiver import Receiver


def start_grpc(receiver: Receiver, address: tuple[str, int]) -> tuple[Any, tuple[str, int]]:
    try:
        import grpc  # type: ignore[import-untyped]
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
    except ImportError:
        raise PluginError(
            "tracing.receive.grpc needs grpcio: pip install 'chaoskit[grpc]' (or receive over OTLP/HTTP only)"
        ) from None

    from chaoskit.tracing.receiver import Refused

    codes = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED}

    class Service(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:  # the gRPC method is called Export
            try:
                metadata = dict(context.invocation_metadata())
                receiver.check_token(str(metadata.get("authorization", "")))
                receiver.store.add_request(request)
            except Refused as exc:
                receiver.refuse(str(exc))
                context.abort(codes.get(exc.status, grpc.StatusCode.INVALID_ARGUMENT), str(exc))
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="chaoskit-otlp-grpc"),
        options=[("grpc.max_receive_message_length", receiver.max_body), ("grpc.so_reuseport", 0)],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), server)  # type: ignore[no-untyped-call]
    host, port = address
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind {host}:{port} for OTLP/gRPC")
    server.start()
    return server, (host, bound)
