"""``host.process`` (how many processes match) and ``host.port`` (does something listen on a TCP port).

A third probe, "command exit code / output", is the core ``process`` probe already (value = exit
code, stdout/stderr as details), so this plugin does not duplicate it.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit_host import procfs
from chaoskit_host.targets import Selector, matches

_ANY = ("0.0.0.0", "::")


class ProcessCountProbe(Probe[Selector]):
    """Count the live processes matching pid/pidfile/name/cmdline/port (value: the count; details: pids)."""

    Params = Selector

    def observe(self, params: Selector, ctx: Context) -> Observation:
        procs, note = matches(params, ctx)
        details: dict[str, object] = {"pids": [p.pid for p in procs][:50], "searched": params.searched()}
        if note:
            details["note"] = note
        return Observation(len(procs), details)


class PortParams(StrictModel):
    port: int = Field(ge=1, le=65535, description="The TCP port.")
    host: str | None = Field(
        default=None, description="Only a listener on this address (or on a wildcard address) counts."
    )

    @field_validator("host")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"host must be an IP address such as 127.0.0.1 or ::1, not {value!r}") from None
        return value

    def accepts(self, address: str) -> bool:
        if self.host is None or address in _ANY:
            return True
        return ipaddress.ip_address(address) == ipaddress.ip_address(self.host)


class PortProbe(Probe[PortParams]):
    """Whether a TCP socket listens on the port, read from /proc/net/tcp{,6} (value: true/false; no connection)."""

    Params = PortParams

    def observe(self, params: PortParams, ctx: Context) -> Observation:
        found = [lst for lst in procfs.listeners(params.port) if params.accepts(lst.address)]
        return Observation(bool(found), {"addresses": sorted({lst.address for lst in found})})
