"""The ``tcp`` probe: can a TCP connection be made (standard library only)."""

from __future__ import annotations

import time

from pydantic import Field

from chaoskit.durations import Duration
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit_http.client import connect


class TcpParams(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    timeout: Duration = Field(default=2.0, gt=0)


class TcpProbe(Probe[TcpParams]):
    """TCP connect; value = whether it connected (true/false), details: latency_ms, error."""

    Params = TcpParams

    def observe(self, params: TcpParams, ctx: Context) -> Observation:
        start = time.perf_counter()
        try:
            with connect(params.host, params.port, params.timeout):
                pass
        except OSError as exc:
            return Observation(False, {"error": str(exc), "latency_ms": round((time.perf_counter() - start) * 1000, 3)})
        return Observation(True, {"latency_ms": round((time.perf_counter() - start) * 1000, 3)})
