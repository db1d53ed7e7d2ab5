"""An example fault plugin: slow down the quick start service (examples/quickstart/server.py) through its
admin endpoint ``/admin/slow?ms=N``, and make it fast again on revert."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from pydantic import Field

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context, Fault


class SlowEndpointParams(StrictModel):
    url: str = Field(pattern=r"^https?://", description="The service's base URL, e.g. http://127.0.0.1:8080.")
    delay: Duration = Field(gt=0, le=60, description="How much slower /health answers while the fault holds.")
    timeout: Duration = Field(default=5.0, gt=0, le=60, description="Timeout of each admin call.")


class SlowEndpointFault(Fault[SlowEndpointParams]):
    """Make /health slow through the service's admin endpoint; revert sets the delay back to 0."""

    Params = SlowEndpointParams

    def plan(self, params: SlowEndpointParams, ctx: Context) -> dict[str, Any]:
        # Everything revert needs, and nothing else: it runs from this dict alone (also in `chaoskit rollback`).
        return {"url": params.url.rstrip("/"), "timeout": params.timeout}

    def inject(self, params: SlowEndpointParams, info: dict[str, Any], ctx: Context) -> None:
        _set_delay(info, round(params.delay * 1000))

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        _set_delay(info, 0)  # idempotent: setting 0 twice is harmless

    def describe(self, info: dict[str, Any]) -> str:
        return f"slow down {info['url']}/health"


def _set_delay(info: dict[str, Any], ms: int) -> None:
    url = f"{info['url']}/admin/slow?ms={ms}"
    try:
        with urllib.request.urlopen(url, timeout=float(info["timeout"])) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError) as exc:  # refused, timed out, not JSON: say what and where
        raise PluginError(f"example.slow_endpoint: {url}: {exc}") from exc
    if answer.get("delay_ms") != ms:
        raise PluginError(f"example.slow_endpoint: {url} answered {answer}, not delay_ms {ms}")
