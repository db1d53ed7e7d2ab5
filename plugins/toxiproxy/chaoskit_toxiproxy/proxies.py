"""The proxies an experiment declares (``toxiproxy: proxies:``): created at run start, deleted at run end.

Proxies must exist before the baseline (the system under test talks to its dependency through them)
and until the recovery checks are over, so they cannot belong to a fault (faults are reverted before
recovery). The core has no run-start step for sections; it has pluggy hooks. So:

* a ``chaoskit_run_started`` hook plans the missing proxies, writes a ledger entry for them to its own
  ledger file (``<run_id>.toxiproxy.json``, next to the run's ledger, same format), then creates them;
* a ``chaoskit_run_finished`` hook deletes the proxies it created (after the reverts, the recovery and
  the load), marks the entry reverted and removes the ledger file;
* the entry names the fault plugin ``toxiproxy.proxies`` (:class:`ProxiesFault`), so after a SIGKILL
  ``chaoskit rollback`` reverts it like any fault. Its file sorts after the run's own ledger, so the
  toxics are removed first, then the proxies.

Existing proxies are never touched (nor deleted), and a proxy declared with ``keep: true`` is created when missing
but never deleted (a game day's application keeps its path to the dependency between experiments).
:class:`ProxiesFault` can also be used as a step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoskit.hooks import hookimpl
from chaoskit.ledger import Ledger, LedgerEntry
from chaoskit.plugin import Context, Fault
from chaoskit_toxiproxy.client import AlreadyExists, ToxiproxyClient
from chaoskit_toxiproxy.section import ToxiproxySection

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal

ENTRY_ID = "toxiproxy-proxies"


class ProxiesFault(Fault[ToxiproxySection]):
    """Create the listed proxies that are missing; revert deletes only the ones it created."""

    Params = ToxiproxySection
    internal = True  # the runner injects it for the toxiproxy: section; users write the section, not this fault

    def plan(self, params: ToxiproxySection, ctx: Context) -> dict[str, Any]:
        existing = params.client().proxies()
        return {
            "url": params.url,
            "timeout": params.timeout,
            "create": [p.model_dump() for p in params.proxies if p.name not in existing],
            "keep": [p.name for p in params.proxies if p.keep],
            "existing": [p.name for p in params.proxies if p.name in existing],
            "created": None,  # None until inject completed: revert then checks each planned proxy
        }

    def inject(self, params: ToxiproxySection, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        client = _client(info)
        created: list[dict[str, str]] = []
        for spec in info["create"]:
            try:
                client.create_proxy(spec["name"], spec["listen"], spec["upstream"])
            except AlreadyExists:
                continue  # someone created it since plan: not ours, leave it
            if not spec.get("keep"):  # a kept proxy is left in place: revert never deletes it
                created.append(spec)
        return {**info, "created": created}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        client = _client(info)
        created = info.get("created")
        if created is not None:
            for spec in created:
                client.delete_proxy(spec["name"])
            return
        # inject was cut short: delete the planned proxies that exist exactly as planned.
        for spec in info["create"]:
            if spec.get("keep"):
                continue
            proxy = client.find_proxy(spec["name"])
            if proxy is not None and (proxy.listen, proxy.upstream) == (spec["listen"], spec["upstream"]):
                client.delete_proxy(spec["name"])

    def describe(self, info: dict[str, Any]) -> str:
        create = ", ".join(f"{p['name']} ({p['listen']} -> {p['upstream']})" for p in info["create"]) or "none"
        existing = ", ".join(info["existing"]) or "none"
        kept = f"; keep {', '.join(info['keep'])} after the run" if info.get("keep") else ""
        return f"at {info['url']}: create proxies {create}; use existing {existing}{kept}"


def _client(info: dict[str, Any]) -> ToxiproxyClient:
    return ToxiproxyClient(str(info["url"]), float(info.get("timeout", 5.0)))


class ProxyHooks:
    """Creates the declared proxies for each run in this process, and deletes them when it ends."""

    def __init__(self) -> None:
        self._ledgers: dict[str, Ledger] = {}

    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        if journal.dry_run:
            return  # the faults' plans show which proxies would be created
        block = journal.experiment.get("toxiproxy")
        if not isinstance(block, dict) or not block.get("proxies"):
            return
        params = ToxiproxySection.model_validate(block)
        fault = ProxiesFault()
        ctx = Context(run_id=journal.run_id)
        info = fault.plan(params, ctx)
        if not info["create"]:
            return
        ledger = Ledger.create(f"{journal.run_id}.toxiproxy", f"{journal.title} (toxiproxy proxies)")
        self._ledgers[journal.run_id] = ledger
        ledger.add(LedgerEntry(id=ENTRY_ID, plugin="toxiproxy.proxies", name="toxiproxy proxies", info=info))
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
