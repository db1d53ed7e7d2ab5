"""The proxies an experiment declares (``httpfault: proxies:``): created at run start, deleted at run end.

The same design as chaoskit-toxiproxy's declared proxies (see its README): proxies must exist before the baseline
and until the recovery checks are over, so a ``chaoskit_run_started`` hook writes a ledger entry to its own ledger
file (``<run_id>.httpfault.json``) and creates the missing proxies; ``chaoskit_run_finished`` deletes the ones it
created (not those marked ``keep``). The entry names the fault plugin ``httpfault.proxies``, so after a SIGKILL
``chaoskit rollback`` deletes them too, after the run's own rules (its file sorts after the run's ledger).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoskit.hooks import hookimpl
from chaoskit.ledger import Ledger, LedgerEntry
from chaoskit.plugin import Context, Fault
from chaoskit_httpfault.client import AlreadyExists, HttpFaultClient
from chaoskit_httpfault.section import HttpFaultSection

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal

ENTRY_ID = "httpfault-proxies"


class ProxiesFault(Fault[HttpFaultSection]):
    """Create the listed proxies that are missing; revert deletes only the ones it created (not `keep` ones)."""

    Params = HttpFaultSection
    internal = True  # the runner injects it for the httpfault: section; `chaoskit list` and the docs leave it out

    def plan(self, params: HttpFaultSection, ctx: Context) -> dict[str, Any]:
        existing = params.client().proxies()
        return {
            "url": params.url,
            "timeout": params.timeout,
            "create": [p.model_dump() for p in params.proxies if p.name not in existing],
            "existing": [p.name for p in params.proxies if p.name in existing],
            "created": None,  # None until inject completed: revert then checks each planned proxy
        }

    def inject(self, params: HttpFaultSection, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        client = _client(info)
        created: list[dict[str, Any]] = []
        for spec in info["create"]:
            try:
                made = client.create_proxy(spec["name"], spec["listen"], spec["upstream"], spec["keep_host"])
            except AlreadyExists:
                continue  # someone created it since plan: not ours, leave it
            created.append({**spec, "listen": made["listen"]})  # the port it got, when asked for port 0
        return {**info, "created": created}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        client = _client(info)
        created = info.get("created")
        if created is None:  # inject was cut short: the planned proxies that exist exactly as planned
            live = client.proxies()
            planned = [(s, live.get(s["name"])) for s in info["create"]]
            created = [s for s, p in planned if p and (p["listen"], p["upstream"]) == (s["listen"], s["upstream"])]
        for spec in created:
            if not spec.get("keep"):
                client.delete_proxy(spec["name"])

    def describe(self, info: dict[str, Any]) -> str:
        create = ", ".join(f"{p['name']} ({p['listen']} -> {p['upstream']})" for p in info["create"]) or "none"
        existing = ", ".join(info["existing"]) or "none"
        return f"at {info['url']}: create proxies {create}; use existing {existing}"


def _client(info: dict[str, Any]) -> HttpFaultClient:
    return HttpFaultClient(str(info["url"]), float(info.get("timeout", 5.0)))


class ProxyHooks:
    """Creates the declared proxies for each run in this process, and deletes them when it ends."""

    def __init__(self) -> None:
        self._ledgers: dict[str, Ledger] = {}

    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        if journal.dry_run:
            return  # the faults' plans show which proxies would be created
        block = journal.experiment.get("httpfault")
        if not isinstance(block, dict) or not block.get("proxies"):
            return
        params = HttpFaultSection.model_validate(block)
        fault = ProxiesFault()
        ctx = Context(run_id=journal.run_id)
        info = fault.plan(params, ctx)
        if not info["create"]:
            return
        ledger = Ledger.create(f"{journal.run_id}.httpfault", f"{journal.title} (httpfault proxies)")
        self._ledgers[journal.run_id] = ledger
        ledger.add(LedgerEntry(id=ENTRY_ID, plugin="httpfault.proxies", name="httpfault proxies", info=info))
        ledger.update(ENTRY_ID, info=fault.inject(params, info, ctx), state="injected")

    @hookimpl
    def chaoskit_run_finished(self, journal: Journal) -> None:
        ledger = self._ledgers.pop(journal.run_id, None)
        if ledger is None:
            return
        ctx = Context(run_id=journal.run_id)
        for entry in ledger.data.pending():
            try:
                ProxiesFault().revert(entry.info, ctx)
            except Exception as exc:
                ledger.update(entry.id, state="revert-failed", error=str(exc))
                raise
            ledger.update(entry.id, state="reverted")
        ledger.close_if_clean()


hooks = ProxyHooks()
