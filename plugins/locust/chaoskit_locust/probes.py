"""``load.error_rate``, ``load.latency`` and ``load.rps``: what the users of the load experience, over the last
``last`` seconds, for all requests or one ``endpoint``. They read the running load (``ctx.load``)."""

from __future__ import annotations

from typing import Any

from chaoskit.errors import PluginError
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit_locust.params import LatencyParams, WindowParams
from chaoskit_locust.series import Stats


def _window(name: str, params: WindowParams, ctx: Context) -> Stats:
    from chaoskit_locust.driver import LocustRun
    from chaoskit_locust.remote import RemoteRun

    run = ctx.load
    if run is None:
        raise PluginError(
            f"probe {name} reads the load of the run, but no load is running: "
            "add a `load:` block (driver: locust) to the experiment"
        )
    if not isinstance(run, LocustRun | RemoteRun):
        raise PluginError(f"probe {name} needs the locust load driver (the load is a {type(run).__name__})")
    stats = run.window(params.last, params.endpoint)
    if params.endpoint is not None and stats.requests == 0 and params.endpoint not in run.series.endpoints():
        known = ", ".join(repr(e) for e in run.series.endpoints()) or "none yet"
        raise PluginError(f"probe {name}: no requests named {params.endpoint!r} so far (seen: {known})")
    return stats


def _details(stats: Stats, params: WindowParams) -> dict[str, Any]:
    return {
        "window_s": round(stats.seconds, 3),
        "endpoint": params.endpoint,
        **stats.as_dict(),
    }


class ErrorRateProbe(Probe[WindowParams]):
    """Failed requests / requests over the last `last` seconds (None when there were no requests)."""

    Params = WindowParams

    def observe(self, params: WindowParams, ctx: Context) -> Observation:
        stats = _window("load.error_rate", params, ctx)
        return Observation(stats.error_rate, _details(stats, params))


class LatencyProbe(Probe[LatencyParams]):
    """The latency percentile (ms) over the last `last` seconds (None when there were no requests)."""

    Params = LatencyParams

    def observe(self, params: LatencyParams, ctx: Context) -> Observation:
        stats = _window("load.latency", params, ctx)
        value = stats.latency(params.percentile)
        return Observation(value, {**_details(stats, params), "latency_ms": value, "percentile": params.percentile})


class RpsProbe(Probe[WindowParams]):
    """Completed requests per second over the last `last` seconds."""

    Params = WindowParams

    def observe(self, params: WindowParams, ctx: Context) -> Observation:
        stats = _window("load.rps", params, ctx)
        return Observation(round(stats.rps, 3), _details(stats, params))
