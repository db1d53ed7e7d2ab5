"""The proxies an experiment declares (``httpfault: proxies:``): created at run start, deleted at run end.

The same design as chaoskit-toxiproxy's declared proxies, from the same code: :mod:`chaoskit.declared`. The
ledger file is ``<run_id>.httpfault.json``; its entry names the fault ``httpfault.proxies``, so after a SIGKILL
``chaoskit rollback`` deletes them too, after the run's own rules (its file sorts after the run's ledger).
"""

from __future__ import annotations

from typing import Any

from chaoskit.declared import DeclaredProxiesFault, DeclaredProxiesHooks, ProxiesSection
from chaoskit_httpfault.client import AlreadyExists, HttpFaultClient
from chaoskit_httpfault.section import HttpFaultSection


class ProxiesFault(DeclaredProxiesFault[HttpFaultSection, HttpFaultClient]):
    """Create the listed proxies that are missing; revert deletes only the ones it created (not `keep` ones)."""

    Params = HttpFaultSection

    def section(self, params: HttpFaultSection) -> ProxiesSection:
        return params

    def client(self, url: str, timeout: float) -> HttpFaultClient:
        return HttpFaultClient(url, timeout)

    def addresses(self, client: HttpFaultClient) -> dict[str, tuple[str, str]]:
        return {name: (p["listen"], p["upstream"]) for name, p in client.proxies().items()}

    def create(self, client: HttpFaultClient, spec: dict[str, Any]) -> dict[str, Any] | None:
        try:
            made = client.create_proxy(spec["name"], spec["listen"], spec["upstream"], spec["keep_host"])
        except AlreadyExists:
            return None
        return {**spec, "listen": made["listen"]}  # the port it got, when asked for port 0


hooks = DeclaredProxiesHooks("httpfault", ProxiesFault)
