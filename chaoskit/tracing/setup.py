"""Where a run's trace goes: the local OTLP JSON file and, when an endpoint is configured, OTLP/HTTP or
OTLP/gRPC (then through the OpenTelemetry SDK, :mod:`chaoskit.tracing.sdk`; the file alone needs no SDK,
:mod:`chaoskit.tracing.spans`). chaoskit never sets the global TracerProvider.

Precedence, for each setting: the experiment's ``tracing:`` block, then the standard variables
(``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``..._PROTOCOL``,
``OTEL_SERVICE_NAME``), then the defaults. Without an endpoint nothing is sent over the network.
Headers, certificates and compression are read by the OpenTelemetry exporters themselves from
``OTEL_EXPORTER_OTLP_*`` (so credentials stay in the environment, never in the experiment or journal).
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from collections.abc import Mapping
from typing import Literal

from chaoskit.errors import ChaosKitError
from chaoskit.model.experiment import TracingSpec
from chaoskit.record import record

Protocol = Literal["http/protobuf", "grpc"]
PROTOCOLS: tuple[Protocol, ...] = ("http/protobuf", "grpc")


class TracingConfigError(ChaosKitError):
    """The tracing configuration (experiment block or OTEL_* variables) cannot be used."""


@record(frozen=True)
class OtlpTarget:
    protocol: Protocol
    endpoint: str
    """The full traces endpoint: ``http://host:4318/v1/traces`` (HTTP) or ``http://host:4317`` (gRPC)."""


def _traces_url(base: str) -> str:
    return base if base.rstrip("/").endswith("/v1/traces") else base.rstrip("/") + "/v1/traces"


def resolve_otlp(spec: TracingSpec, env: Mapping[str, str] | None = None) -> OtlpTarget | None:
    """The OTLP destination, or None when neither the experiment nor the environment names an endpoint."""
    env = os.environ if env is None else env
    where = "tracing.protocol"
    protocol: str | None = spec.protocol
    for var in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        if protocol is None and env.get(var):
            protocol, where = env[var].strip(), var
    protocol = protocol or "http/protobuf"
    if protocol not in PROTOCOLS:
        raise TracingConfigError(
            f"{where}={protocol!r}: chaoskit exports OTLP over 'http/protobuf' or 'grpc' only "
            "(the trace file next to the journal is already OTLP JSON)"
        )
    proto: Protocol = protocol
    if spec.endpoint:
        endpoint = spec.endpoint if proto == "grpc" else _traces_url(spec.endpoint)
    elif env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        endpoint = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]  # a signal endpoint is used as it is
    elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        base = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
        endpoint = base if proto == "grpc" else _traces_url(base)
    else:
        return None
    if not endpoint.startswith(("http://", "https://")):
        raise TracingConfigError(f"OTLP endpoint {endpoint!r} must start with http:// or https://")
    return OtlpTarget(proto, endpoint)


def service_name(spec: TracingSpec, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return spec.service_name or env.get("OTEL_SERVICE_NAME") or "chaoskit"


def reachability(endpoint: str, timeout_s: float) -> str:
    """Why an export may have failed, in words: can a TCP connection to the endpoint be made at all?"""
    url = urllib.parse.urlsplit(endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return f"{host}:{port} accepts connections"
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"
