"""The proxies an experiment declares (``toxiproxy: proxies:``): created at run start, deleted at run end.

How, and why through hooks and a ledger file of their own: :mod:`chaoskit.declared` (shared with
chaoskit-httpfault). The ledger file is ``<run_id>.toxiproxy.json``; its entry names the fault
``toxiproxy.proxies`` (:class:`ProxiesFault`, which can also be used as a step), so after a SIGKILL
``chaoskit rollback`` removes the toxics first, then the proxies.
"""

from __future__ import annotations

from typing import Any

from chaoskit.declared import DeclaredProxiesFault, DeclaredProxiesHooks, ProxiesSection
from chaoskit_toxiproxy.client import AlreadyExists, ToxiproxyClient
from chaoskit_toxiproxy.section import ToxiproxySection


class ProxiesFault(DeclaredProxiesFault[ToxiproxySection, ToxiproxyClient]):
    """Create the listed proxies that are missing; revert deletes only the ones it created."""

    Params = ToxiproxySection

    def section(self, params: ToxiproxySection) -> ProxiesSection:
        return params

    def client(self, url: str, timeout: float) -> ToxiproxyClient:
        return ToxiproxyClient(url, timeout)

    def addresses(self, client: ToxiproxyClient) -> dict[str, tuple[str, str]]:
        return {name: (p.listen, p.upstream) for name, p in client.proxies().items()}

    def create(self, client: ToxiproxyClient, spec: dict[str, Any]) -> dict[str, Any] | None:
        try:
            client.create_proxy(spec["name"], spec["listen"], spec["upstream"])
        except AlreadyExists:
            return None
        return spec


hooks = DeclaredProxiesHooks("toxiproxy", ProxiesFault)
