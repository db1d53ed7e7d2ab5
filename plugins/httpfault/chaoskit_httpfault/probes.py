"""``httpfault.hits``: how many requests the rules on a proxy matched and hit."""

from __future__ import annotations

from pydantic import Field

from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit_httpfault.faults import proxy_preflight
from chaoskit_httpfault.section import NAME, HttpFaultSection


class HitsParams(StrictModel):
    proxy: str = Field(pattern=NAME, description="The proxy whose rules are counted.")
    this_run: bool = Field(default=True, description="Count only the rules of this run (false: every rule).")


class HitsProbe(Probe[HitsParams]):
    """Requests hit by the active rules on a proxy; value = applied, details: requests, matched, rules."""

    Params = HitsParams

    def preflight(self, params: HitsParams, ctx: Context) -> list[str]:
        return proxy_preflight(params.proxy, ctx)

    def observe(self, params: HitsParams, ctx: Context) -> Observation:
        client = ctx.section("httpfault", HttpFaultSection).client()
        proxy = client.proxies().get(params.proxy)
        if proxy is None:
            raise client.not_found(params.proxy)
        prefix = f"chaoskit-{ctx.run_id}-"
        rules = [
            {"id": r["id"], "action": r["action"]["type"], **r["hits"]}
            for r in client.rules()
            if r["proxy"] == params.proxy and (not params.this_run or str(r["id"]).startswith(prefix))
        ]
        applied = sum(int(r["applied"]) for r in rules)
        details = {
            "requests": proxy["requests"],
            "matched": sum(int(r["matched"]) for r in rules),
            "applied": applied,
            "rules": rules,
        }
        return Observation(applied, details)
