"""Proxies an experiment declares in a plugin's section (``toxiproxy: proxies:``, ``httpfault: proxies:``).

Proxies must exist before the baseline (the system under test talks to its dependency through them) and until
the recovery checks are over, so they cannot belong to a fault (faults are reverted before recovery). The core
has no run-start step for sections; it has pluggy hooks. So, for a plugin whose section declares proxies:

* a ``chaoskit_run_started`` hook (:class:`DeclaredProxiesHooks`) plans the missing proxies, writes a ledger
  entry for them to its own ledger file (``<run_id>.<section>.json``, next to the run's ledger, same format),
  then creates them;
* a ``chaoskit_run_finished`` hook deletes the proxies it created (after the reverts, the recovery and the
  load), marks the entry reverted and removes the ledger file;
* the two hooks of one run never overlap: a run that ends while its run-start hook is still creating proxies (a
  signal, the ``max_duration`` wall: hooks run in a worker and can be abandoned) waits for that hook, up to
  :data:`START_WAIT` seconds, and the hook, seeing the run ended, deletes what it created before it lets go;
* the entry names the fault plugin ``<section>.proxies`` (the plugin's :class:`DeclaredProxiesFault`), so after
  a SIGKILL ``chaoskit rollback`` reverts it like any fault. Its file sorts after the run's own ledger, so the
  run's faults are reverted first, then the proxies go.

Existing proxies are never touched (nor deleted), and a proxy declared with ``keep: true`` is created when missing
but never deleted (a game day's application keeps its path to the dependency between experiments).
A plugin subclasses :class:`DeclaredProxiesFault` with the three calls that speak its server's API.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from chaoskit.hooks import hookimpl
from chaoskit.plugin import Context, Fault, P

if TYPE_CHECKING:
    from chaoskit.ledger import Ledger
    from chaoskit.model.journal import Journal


class DeclaredProxy(Protocol):
    """One entry of a section's ``proxies:`` list (the plugin's pydantic model)."""

    @property
    def name(self) -> str: ...
    @property
    def listen(self) -> str: ...
    @property
    def upstream(self) -> str: ...
    @property
    def keep(self) -> bool: ...
    def model_dump(self) -> dict[str, Any]: ...


class ProxiesSection(Protocol):
    """What the declared-proxies code reads of a plugin's section model."""

    @property
    def url(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def proxies(self) -> Sequence[DeclaredProxy]: ...


class ProxyClient(Protocol):
    def delete_proxy(self, name: str) -> bool: ...


START_WAIT = 5.0
"""How long a run's end waits for its run-start hook that is still creating proxies."""

D = TypeVar("D", bound=DeclaredProxy)
C = TypeVar("C", bound=ProxyClient)


def unique_proxies(proxies: list[D]) -> list[D]:
    """The section validator's check: no name and no listen address twice (raises ValueError naming them)."""
    names = [p.name for p in proxies]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"proxy names must be unique (declared more than once: {', '.join(twice)})")
    listens = [p.listen for p in proxies]
    twice = sorted({a for a in listens if listens.count(a) > 1})
    if twice:
        raise ValueError(f"two proxies cannot listen on the same address ({', '.join(twice)})")
    return proxies


class DeclaredProxiesFault(Fault[P], Generic[P, C]):
    """Create the declared proxies that are missing; revert deletes only the ones it created (never ``keep``
    ones). ``Params`` is the plugin's section model."""

    internal = True  # the hooks inject it for the section; users write the section, not this fault

    @abstractmethod
    def section(self, params: P) -> ProxiesSection:
        """``params`` (the plugin's section model) as what this code reads of it: ``return params``, which mypy
        checks against :class:`ProxiesSection`."""

    @abstractmethod
    def client(self, url: str, timeout: float) -> C:
        """A client of the server at ``url``."""

    @abstractmethod
    def addresses(self, client: C) -> dict[str, tuple[str, str]]:
        """Every proxy on the server: name -> (listen, upstream)."""

    @abstractmethod
    def create(self, client: C, spec: dict[str, Any]) -> dict[str, Any] | None:
        """Create the proxy ``spec`` (a declared proxy's ``model_dump()``) describes; return it as created (with
        the address it got, when asked for port 0), or None when it exists already (someone made it since plan)."""

    def plan(self, params: P, ctx: Context) -> dict[str, Any]:
        section = self.section(params)
        existing = self.addresses(self.client(section.url, section.timeout))
        return {
            "url": section.url,
            "timeout": section.timeout,
            "create": [p.model_dump() for p in section.proxies if p.name not in existing],
            "keep": [p.name for p in section.proxies if p.keep],
            "existing": [p.name for p in section.proxies if p.name in existing],
            "created": None,  # None until inject completed: revert then checks each planned proxy
        }

    def preflight(self, params: P, ctx: Context) -> list[str]:
        """Each declared proxy the run would create can listen where it says: when the server runs on this
        machine (a loopback URL), its listen address is bound and closed at once (no side effect). An address in
        use makes the run fail at its start (``AddressInUse``), so it is a preflight problem."""
        from urllib.parse import urlsplit

        from chaoskit.errors import ChaosKitError
        from chaoskit.ports import cannot_listen

        section = self.section(params)
        if urlsplit(section.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            return []  # the proxies listen on another machine: nothing to try from here
        try:
            existing = self.addresses(self.client(section.url, section.timeout))
        except ChaosKitError:
            return []  # no server: each fault on it says so (its preflight), once per step
        found = []
        for i, proxy in enumerate(section.proxies):
            why = None if proxy.name in existing else cannot_listen(proxy.listen)
            if why is not None:
                found.append(f"proxies[{i}].listen: proxy {proxy.name!r} cannot listen on {proxy.listen}: {why}")
        return found

    def inject(self, params: P, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        client = self._client(info)
        created: list[dict[str, Any]] = []
        for spec in info["create"]:
            made = self.create(client, spec)
            if made is not None and not spec.get("keep"):  # not ours, or kept: revert never deletes it
                created.append(made)
        return {**info, "created": created}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        client = self._client(info)
        created = info.get("created")
        if created is None:  # inject was cut short: the planned proxies that exist exactly as planned
            live = self.addresses(client)
            created = [s for s in info["create"] if live.get(s["name"]) == (s["listen"], s["upstream"])]
        for spec in created:
            if not spec.get("keep"):  # (ledgers of older versions listed kept proxies as created)
                client.delete_proxy(spec["name"])

    def describe(self, info: dict[str, Any]) -> str:
        create = ", ".join(f"{p['name']} ({p['listen']} -> {p['upstream']})" for p in info["create"]) or "none"
        existing = ", ".join(info["existing"]) or "none"
        kept = f"; keep {', '.join(info['keep'])} after the run" if info.get("keep") else ""
        return f"at {info['url']}: create proxies {create}; use existing {existing}{kept}"

    def _client(self, info: Mapping[str, Any]) -> C:
        return self.client(str(info["url"]), float(info.get("timeout", 5.0)))


class DeclaredProxiesHooks:
    """Creates the proxies the ``section`` block declares for each run in this process, and deletes them when the
    run ends (see the module docstring). ``fault`` is the plugin's :class:`DeclaredProxiesFault`, registered as the
    fault ``<section>.proxies``."""

    def __init__(self, section: str, fault: type[DeclaredProxiesFault[Any, Any]]) -> None:
        self.section = section
        self.fault = fault
        self._ledgers: dict[str, Ledger] = {}
        self._guard = threading.Lock()  # for the three maps
        self._starting: dict[str, threading.Lock] = {}  # run id -> held while its run-start hook works
        self._ended: set[str] = set()  # runs whose end hook has been called

    @property
    def entry_id(self) -> str:
        return f"{self.section}-proxies"

    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        if journal.dry_run:
            return  # the faults' plans show which proxies would be created
        block = journal.experiment.get(self.section)
        if not isinstance(block, dict) or not block.get("proxies"):
            return
        with self._guard:
            if journal.run_id in self._ended:
                return  # the run ended before this hook began: nothing to create
            working = self._starting.setdefault(journal.run_id, threading.Lock())
        with working:  # the run's end waits for this lock, so a late undo is over before the end returns
            self._create(journal, block)
            with self._guard:
                late = journal.run_id in self._ended
            if late:  # the run ended while this hook was creating proxies: undo what it created
                self._delete(journal.run_id)

    def _create(self, journal: Journal, block: dict[str, Any]) -> None:
        from chaoskit.ledger import Ledger, LedgerEntry  # here: the sections import this module to validate

        params = self.fault.Params.model_validate(block)
        fault = self.fault()
        ctx = Context(run_id=journal.run_id)
        info = fault.plan(params, ctx)
        if not info["create"]:
            return
        ledger = Ledger.create(f"{journal.run_id}.{self.section}", f"{journal.title} ({self.section} proxies)")
        with self._guard:
            self._ledgers[journal.run_id] = ledger
        entry = LedgerEntry(
            id=self.entry_id, plugin=f"{self.section}.proxies", name=f"{self.section} proxies", info=info
        )
        ledger.add(entry)
        ledger.update(self.entry_id, info=fault.inject(params, info, ctx), state="injected")

    @hookimpl
    def chaoskit_run_finished(self, journal: Journal) -> None:
        with self._guard:
            self._ended.add(journal.run_id)
            working = self._starting.pop(journal.run_id, None)
        if working is not None and not working.acquire(timeout=START_WAIT):
            return  # the run-start hook is still at work: it deletes what it made when it returns
        try:
            self._delete(journal.run_id)
        finally:
            if working is not None:
                working.release()

    def _delete(self, run_id: str) -> None:
        with self._guard:
            ledger = self._ledgers.pop(run_id, None)
        if ledger is None:
            return
        ctx = Context(run_id=run_id)
        for entry in ledger.data.pending():
            try:
                self.fault().revert(entry.info, ctx)
            except Exception as exc:
                ledger.update(entry.id, state="revert-failed", error=str(exc))
                raise
            ledger.update(entry.id, state="reverted")
        ledger.close_if_clean()
