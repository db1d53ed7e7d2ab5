"""The ``toxiproxy:`` top-level block of an experiment: which server, and the proxies the run needs."""

from __future__ import annotations

import os

from pydantic import Field, field_validator

from chaoskit.declared import unique_proxies
from chaoskit.durations import Duration
from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context
from chaoskit_toxiproxy.client import DEFAULT_URL, ToxiproxyClient

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
ADDRESS = r"^[^\s:]+:\d{1,5}$"


def default_url() -> str:
    return os.environ.get("TOXIPROXY_URL") or DEFAULT_URL


class ProxySpec(StrictModel):
    """A proxy the run needs. Created at run start when missing, deleted at run end if chaoskit created it
    (unless ``keep``)."""

    name: str = Field(pattern=NAME, description="The proxy's name on the Toxiproxy server.")
    listen: str = Field(pattern=ADDRESS, description="host:port the proxy listens on, e.g. 127.0.0.1:15432.")
    upstream: str = Field(pattern=ADDRESS, description="host:port of the real dependency, e.g. 127.0.0.1:5432.")
    keep: bool = Field(
        default=False,
        description=(
            "Leave the proxy in place after the run (its toxics are still removed): for an application whose "
            "path to the dependency goes through it, so the next experiments of a game day, and the application "
            "between them, keep that dependency. Later runs find it and use it as it is."
        ),
    )


class ToxiproxySection(StrictModel):
    """``toxiproxy:`` -- the Toxiproxy server and the proxies the experiment declares."""

    url: str = Field(
        default_factory=default_url,
        pattern=r"^https?://",
        description=f"The Toxiproxy API. Default: $TOXIPROXY_URL, else {DEFAULT_URL}.",
    )
    timeout: Duration = Field(default=5.0, gt=0, description="Timeout of each call to the Toxiproxy API.")
    proxies: list[ProxySpec] = Field(
        default=[],
        description="Proxies to create when missing (and delete at the end). Existing ones are left as they are.",
    )

    @field_validator("proxies")
    @classmethod
    def _unique(cls, proxies: list[ProxySpec]) -> list[ProxySpec]:
        return unique_proxies(proxies)

    def client(self) -> ToxiproxyClient:
        return ToxiproxyClient(self.url, self.timeout)

    def declared(self, name: str) -> ProxySpec | None:
        return next((p for p in self.proxies if p.name == name), None)


def section(ctx: Context) -> ToxiproxySection:
    return ctx.section("toxiproxy", ToxiproxySection)
