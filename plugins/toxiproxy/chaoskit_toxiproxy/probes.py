"""Toxiproxy probes: is a proxy there and enabled, and which toxics does it carry."""

from __future__ import annotations

from dataclasses import asdict

from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit_toxiproxy.faults import ProxyParams
from chaoskit_toxiproxy.section import section


class ProxyProbe(Probe[ProxyParams]):
    """A proxy's state; value = enabled (false when it does not exist), details: exists, listen, upstream, toxics."""

    Params = ProxyParams

    def observe(self, params: ProxyParams, ctx: Context) -> Observation:
        proxy = section(ctx).client().find_proxy(params.proxy)
        if proxy is None:
            return Observation(False, {"exists": False, "enabled": False, "toxics": []})
        return Observation(
            proxy.enabled,
            {
                "exists": True,
                "enabled": proxy.enabled,
                "listen": proxy.listen,
                "upstream": proxy.upstream,
                "toxics": [asdict(t) for t in proxy.toxics],
            },
        )


class ToxicsProbe(Probe[ProxyParams]):
    """The toxics on a proxy; value = their names, details: count, toxics (type, stream, attributes)."""

    Params = ProxyParams

    def observe(self, params: ProxyParams, ctx: Context) -> Observation:
        toxics = section(ctx).client().toxics(params.proxy)
        return Observation([t.name for t in toxics], {"count": len(toxics), "toxics": [asdict(t) for t in toxics]})
