"""``http`` and ``tcp`` probes (standard library only)."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from typing import Any, Literal

from pydantic import Field, model_validator

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe

_BODY_KEEP = 2048


class HttpParams(StrictModel):
    url: str = Field(pattern=r"^https?://", description="http:// or https:// URL")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default={})
    body: str | None = Field(default=None, description="Request body (text).")
    json_body: Any = Field(default=None, alias="json", description="Request body as JSON.")
    timeout: Duration = Field(default=5.0, gt=0, description="Connect + read timeout.")
    verify_tls: bool = True
    follow_redirects: bool = True

    @model_validator(mode="after")
    def _one_body(self) -> HttpParams:
        if self.body is not None and self.json_body is not None:
            raise ValueError("give either body or json, not both")
        return self


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpProbe(Probe[HttpParams]):
    """HTTP request; value = status code, details: latency_ms, json, body, headers."""

    Params = HttpParams
    tolerance_hint = (
        "an http probe's value is its status code, so its expect names what it checks: "
        "status: 200, body: {regex: 'ok'}, "
        "jsonpath: '$.status' with equals/min/max/one_of/regex, headers: {Content-Type: {regex: json}}, "
        "latency_ms: {max: 300}"
    )

    def observe(self, params: HttpParams, ctx: Context) -> Observation:
        headers = {**ctx.headers(), **params.headers}
        data = None
        if params.json_body is not None:
            data = json.dumps(params.json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif params.body is not None:
            data = params.body.encode()
        request = urllib.request.Request(params.url, data=data, headers=headers, method=params.method)
        handlers: list[Any] = []
        if not params.follow_redirects:
            handlers.append(_NoRedirect())
        if params.url.startswith("https://") and not params.verify_tls:
            handlers.append(urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))
        opener = urllib.request.build_opener(*handlers)
        start = time.perf_counter()
        try:
            with opener.open(request, timeout=params.timeout) as response:
                status, raw, received = response.status, response.read(), dict(response.headers.items())
        except urllib.error.HTTPError as exc:
            status, raw, received = exc.code, exc.read(), dict(exc.headers.items())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PluginError(f"{params.method} {params.url}: {reason}") from None
        latency_ms = (time.perf_counter() - start) * 1000
        text = raw.decode("utf-8", errors="replace")
        details: dict[str, Any] = {
            "status": status,
            "latency_ms": round(latency_ms, 3),
            "body": text[:_BODY_KEEP],
            "headers": received,
        }
        with contextlib.suppress(ValueError):
            details["json"] = json.loads(text)
        return Observation(status, details)


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
            with socket.create_connection((params.host, params.port), timeout=params.timeout):
                pass
        except OSError as exc:
            return Observation(False, {"error": str(exc), "latency_ms": round((time.perf_counter() - start) * 1000, 3)})
        return Observation(True, {"latency_ms": round((time.perf_counter() - start) * 1000, 3)})
