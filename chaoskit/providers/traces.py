"""``trace.error_rate``, ``trace.latency`` and ``trace.count``: what the application's own spans say, over the last
``last`` seconds. They read the spans the run receives (``tracing.receive``); filter on service, span name (a
glob), kind and attributes. With no matching span in the window the value is None (a tolerance then fails).
Once the faults are reverted (``ctx.observed_since``) the window holds only the whole seconds after the last
revert, so recovery is never judged on spans from the fault window."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit.tracing.receive import active_store
from chaoskit.tracing.spanstore import SpanFilter, WindowStats


class TraceWindow(StrictModel):
    last: Duration = Field(default=10.0, gt=0, description="The window: spans that ended in the last N seconds.")
    service: str | None = Field(default=None, description="Only spans of this service (resource service.name).")
    name: str | None = Field(default=None, description="Only spans whose name matches this glob, e.g. 'POST /pay*'.")
    kind: Literal["server", "client", "internal", "producer", "consumer"] | None = Field(
        default=None, description="Only spans of this kind."
    )
    attributes: dict[str, str] = Field(
        default={}, description="Only spans with these attribute values (compared as text)."
    )

    def span_filter(self) -> SpanFilter:
        return SpanFilter(self.service, self.name, self.kind, dict(self.attributes))


class LatencyParams(TraceWindow):
    percentile: float = Field(default=95.0, gt=0, le=100, description="Which percentile of the span durations.")


class CountParams(TraceWindow):
    per: Literal["window", "second", "parent"] = Field(
        default="window",
        description="window: matching spans in the window; second: per second; parent: the most matching spans "
        "under one parent span (e.g. retries per call).",
    )


def _window(name: str, params: TraceWindow, ctx: Context) -> WindowStats:
    store = active_store(ctx.run_id)
    if store is None:
        raise PluginError(f"probe {name} reads received spans, but this run receives none (set tracing.receive)")
    end = time.time()
    start = end - params.last
    if ctx.observed_since is not None and ctx.observed_since > start:
        # after the last revert: only spans that ended after it (whole seconds), never fault-time spans
        return store.window(ctx.observed_since, end + 1, params.span_filter(), inner=True)
    return store.window(start, end + 1, params.span_filter())


def _details(stats: WindowStats, params: TraceWindow, ctx: Context) -> dict[str, Any]:
    since = ctx.observed_since
    return {
        "window_s": params.last,
        "after_last_revert": since is not None,
        "spans": stats.count,
        "errors": stats.errors,
        "filter": params.model_dump(include={"service", "name", "kind", "attributes"}, exclude_none=True),
    }


class TraceErrorRateProbe(Probe[TraceWindow]):
    """Spans with status ERROR / matching spans over the last `last` seconds (None without spans)."""

    Params = TraceWindow

    def observe(self, params: TraceWindow, ctx: Context) -> Observation:
        stats = _window("trace.error_rate", params, ctx)
        return Observation(stats.error_rate, _details(stats, params, ctx))


class TraceLatencyProbe(Probe[LatencyParams]):
    """A percentile of the matching spans' durations, in ms, over the last `last` seconds (None without spans)."""

    Params = LatencyParams

    def observe(self, params: LatencyParams, ctx: Context) -> Observation:
        stats = _window("trace.latency", params, ctx)
        value = stats.percentile(params.percentile)
        return Observation(
            None if value is None else round(value, 3),
            {**_details(stats, params, ctx), "percentile": params.percentile},
        )


class TraceCountProbe(Probe[CountParams]):
    """How many matching spans: in the window, per second, or the most under one parent span."""

    Params = CountParams

    def observe(self, params: CountParams, ctx: Context) -> Observation:
        stats = _window("trace.count", params, ctx)
        value: float
        if params.per == "second":
            value = round(stats.count / params.last, 3)
        elif params.per == "parent":
            value = stats.max_per_parent
        else:
            value = stats.count
        return Observation(value, {**_details(stats, params, ctx), "per": params.per, "parents": len(stats.parents)})
