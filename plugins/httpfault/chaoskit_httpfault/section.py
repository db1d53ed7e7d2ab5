"""The ``httpfault:`` top-level block of an experiment: which HTTP fault proxy, and the proxies the run needs."""

from __future__ import annotations

import os

from pydantic import Field, field_validator

from chaoskit.declared import unique_proxies
from chaoskit.durations import Duration
from chaoskit.model.base import StrictModel
from chaoskit_httpfault.client import DEFAULT_URL, HttpFaultClient

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
ADDRESS = r"^[^\s:/]+:\d{1,5}$"


def default_url() -> str:
    return os.environ.get("HTTPFAULT_URL") or DEFAULT_URL


class ProxySpec(StrictModel):
    """A proxy the run needs: created at run start when missing; deleted at run end if chaoskit created it
    (unless ``keep``)."""

    name: str = Field(pattern=NAME, description="The proxy's name on the HTTP fault proxy.")
    listen: str = Field(pattern=ADDRESS, description="host:port the proxy listens on, e.g. 127.0.0.1:18080.")
    upstream: str = Field(
        pattern=r"^https?://[^\s/]+$",
        description="The real service: http://host:port or https://host:port (TLS to the upstream).",
    )
    keep_host: bool = Field(
        default=False, description="Send the client's Host header upstream (default: the upstream's host:port)."
    )
    keep: bool = Field(default=False, description="Leave the proxy in place after the run (created if missing).")


class HttpFaultSection(StrictModel):
    """``httpfault:`` -- the HTTP fault proxy and the proxies the experiment declares."""

    url: str = Field(
        default_factory=default_url,
        pattern=r"^https?://",
        description=f"The HTTP fault proxy's control API. Default: $HTTPFAULT_URL, else {DEFAULT_URL}.",
    )
    timeout: Duration = Field(default=5.0, gt=0, description="Timeout of each call to the control API.")
    proxies: list[ProxySpec] = Field(
        default=[],
        description="Proxies to create when missing (and delete at the end unless `keep`). Existing ones are used.",
    )

    @field_validator("proxies")
    @classmethod
    def _unique(cls, proxies: list[ProxySpec]) -> list[ProxySpec]:
        return unique_proxies(proxies)

    def client(self) -> HttpFaultClient:
        return HttpFaultClient(self.url, self.timeout)

    def declared(self, name: str) -> ProxySpec | None:
        return next((p for p in self.proxies if p.name == name), None)
