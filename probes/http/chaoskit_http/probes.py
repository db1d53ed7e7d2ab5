"""The ``http`` probe (standard library only: :mod:`chaoskit_http.client`)."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Literal

from pydantic import Field, model_validator

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit_http.client import HttpFailure, request

_BODY_KEEP = 2048


class HttpParams(StrictModel):
    url: str = Field(pattern=r"^https?://", description="http:// or https:// URL")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default={})
    body: str | None = Field(default=None, description="Request body (text).")
    json_body: Any = Field(default=None, alias="json", description="Request body as JSON.")
    timeout: Duration = Field(default=5.0, gt=0, description="One deadline: connect, send and read the whole response.")
    verify_tls: bool = True
    follow_redirects: bool = True

    @model_validator(mode="after")
    def _one_body(self) -> HttpParams:
        if self.body is not None and self.json_body is not None:
            raise ValueError("give either body or json, not both")
        return self


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
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json"
        elif params.body is not None:
            data = params.body.encode()
        start = time.perf_counter()
        try:
            response = request(
                params.method, params.url, headers, data, params.timeout, params.verify_tls, params.follow_redirects
            )
        except (HttpFailure, OSError) as exc:
            raise PluginError(f"{params.method} {params.url}: {exc}") from None
        status, raw, received = response.status, response.body, response.headers
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
