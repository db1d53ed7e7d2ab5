"""``load.error_rate``, ``load.latency`` and ``load.rps``: what the users of the load experience, over the last
``last`` seconds, for all requests or one ``endpoint``. They read the running load (``ctx.load``).

Once the faults are reverted (``ctx.observed_since``), the window starts no earlier than the last revert, so a
recovery check never judges samples of the fault window; the observation's details say which samples were used
(``samples_from``/``samples_to``, ``after_last_revert``). Samples are placed by when the request completed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaoskit.errors import PluginError
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit_locust.params import LatencyParams, WindowParams
from chaoskit_locust.series import Stats


def _window(name: str, params: WindowParams, ctx: Context) -> Window:
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
    start, end, stats = run.window(params.last, params.endpoint, ctx.observed_since)
    if params.endpoint is not None and stats.requests == 0 and params.endpoint not in run.series.endpoints():
        known = ", ".join(repr(e) for e in run.series.endpoints()) or "none yet"
        raise PluginError(f"probe {name}: no requests named {params.endpoint!r} so far (seen: {known})")
    since = ctx.observed_since
    return Window(start, end, since is not None and start >= since, stats)


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    after_last_revert: bool
    """Every sample is from after the last fault revert (always so once the faults are reverted)."""
    stats: Stats


def _details(window: Window, params: WindowParams) -> dict[str, Any]:
    """What the verdict used: the samples between ``samples_from`` and ``samples_to`` (epoch s)."""
    return {
        "window_s": round(window.stats.seconds, 3),
        "samples_from": round(window.start, 3),
        "samples_to": round(window.end, 3),
        "after_last_revert": window.after_last_revert,
        "endpoint": params.endpoint,
        **window.stats.as_dict(),
    }


class ErrorRateProbe(Probe[WindowParams]):
    """Failed requests / requests over the last `last` seconds (None when there were no requests)."""

    Params = WindowParams

    def observe(self, params: WindowParams, ctx: Context) -> Observation:
        window = _window("load.error_rate", params, ctx)
        return Observation(window.stats.error_rate, _details(window, params))


class LatencyProbe(Probe[LatencyParams]):
    """The latency percentile (ms) over the last `last` seconds (None when there were no requests)."""

    Params = LatencyParams

    def observe(self, params: LatencyParams, ctx: Context) -> Observation:
        window = _window("load.latency", params, ctx)
        value = window.stats.latency(params.percentile)
        return Observation(value, {**_details(window, params), "latency_ms": value, "percentile": params.percentile})


class RpsProbe(Probe[WindowParams]):
    """Completed requests per second over the last `last` seconds."""

    Params = WindowParams

    def observe(self, params: WindowParams, ctx: Context) -> Observation:
        window = _window("load.rps", params, ctx)
        return Observation(round(window.stats.rps, 3), _details(window, params))
