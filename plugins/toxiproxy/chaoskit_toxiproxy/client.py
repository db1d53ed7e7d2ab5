"""A small typed client for the Toxiproxy HTTP API (standard library only).

Why not toxiproxy-python: it keeps the server address as class-level state (two servers in one
process interfere), has no request timeouts, turns a server 500 into ``KeyError`` and returns None
from ``add_toxic``. Here every call has a timeout, one client talks to one server, and every server
error becomes a :class:`ToxiproxyError` (a :class:`chaoskit.errors.PluginError`) carrying the
server's own message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chaoskit import httpapi
from chaoskit.errors import PluginError

DEFAULT_URL = "http://127.0.0.1:8474"
START_HINT = "start one with `toxiproxy-server` (scripts/setup-toxiproxy.sh installs it) or set TOXIPROXY_URL"


class ToxiproxyError(PluginError):
    """The Toxiproxy server refused a request; ``status`` and ``server_message`` are what it said."""

    def __init__(self, message: str, status: int | None = None, server_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class ServerUnavailable(ToxiproxyError):
    """No Toxiproxy server answers at the URL (refused, timed out, not Toxiproxy)."""


class ProxyNotFound(ToxiproxyError):
    pass


class ToxicNotFound(ToxiproxyError):
    pass


class AlreadyExists(ToxiproxyError):
    pass


class AddressInUse(ToxiproxyError):
    """A proxy's ``listen`` address is taken by another process."""


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Toxic:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=str(data.get("stream", "downstream")),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Proxy:
        return cls(
            name=str(data["name"]),
            listen=str(data["listen"]),
            upstream=str(data["upstream"]),
            enabled=bool(data["enabled"]),
            toxics=tuple(Toxic.from_api(t) for t in data.get("toxics") or []),
        )


class ToxiproxyClient:
    """One Toxiproxy server. ``timeout`` (seconds) caps every request."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ToxiproxyClient({self.url!r}, timeout={self.timeout:g})"

    # -- transport ---------------------------------------------------------------------------
    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send one request; return the decoded JSON body (None when empty). Raises ToxiproxyError."""
        what = f"{method} {self.url}{path}"
        try:
            raw = httpapi.call(self.url + path, method, body, self.timeout)
        except httpapi.Refused as exc:
            raise self._error(exc.status, exc.message, what) from None
        except httpapi.Unreachable as exc:
            raise ServerUnavailable(f"no Toxiproxy server at {self.url} ({what}: {exc.reason}); {START_HINT}") from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace").strip()

    def _error(self, status: int, message: str, what: str) -> ToxiproxyError:
        text = f"Toxiproxy at {self.url} refused {what}: {message or 'HTTP ' + str(status)} (HTTP {status})"
        if status == 404 and "proxy not found" in message:
            return ProxyNotFound(text, status, message)
        if status == 404 and "toxic not found" in message:
            return ToxicNotFound(text, status, message)
        if status == 409:
            return AlreadyExists(text, status, message)
        if "address already in use" in message:
            return AddressInUse(text, status, message)
        return ToxiproxyError(text, status, message)

    # -- server ------------------------------------------------------------------------------
    def version(self) -> str:
        data = self.request("GET", "/version")
        if isinstance(data, dict) and "version" in data:
            return str(data["version"])
        if isinstance(data, str) and data:
            return data
        raise ServerUnavailable(f"{self.url}/version did not answer like a Toxiproxy server (got {data!r})")

    # -- proxies -----------------------------------------------------------------------------
    def proxies(self) -> dict[str, Proxy]:
        data = self.request("GET", "/proxies")
        if not isinstance(data, dict):
            raise ToxiproxyError(f"{self.url}/proxies answered {data!r}, not a mapping of proxies")
        return {name: Proxy.from_api(p) for name, p in data.items()}

    def proxy(self, name: str) -> Proxy:
        try:
            return Proxy.from_api(self.request("GET", f"/proxies/{httpapi.segment(name)}"))
        except ProxyNotFound:
            raise self.not_found(name) from None

    def find_proxy(self, name: str) -> Proxy | None:
        try:
            return Proxy.from_api(self.request("GET", f"/proxies/{httpapi.segment(name)}"))
        except ProxyNotFound:
            return None

    def not_found(self, name: str) -> ProxyNotFound:
        try:
            known = ", ".join(sorted(self.proxies())) or "none"
        except ToxiproxyError:
            known = "?"
        return ProxyNotFound(
            f"Toxiproxy at {self.url} has no proxy {name!r} (existing proxies: {known}); "
            "declare it under `toxiproxy: proxies:` to have chaoskit create it",
            404,
            "proxy not found",
        )

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        try:
            return Proxy.from_api(self.request("POST", "/proxies", body))
        except AddressInUse as exc:
            raise AddressInUse(
                f"cannot create Toxiproxy proxy {name!r}: its listen address {listen} is already in use "
                f"by another process (Toxiproxy at {self.url} said: {exc.server_message})",
                exc.status,
                exc.server_message,
            ) from None
        except AlreadyExists as exc:
            raise AlreadyExists(
                f"Toxiproxy at {self.url} already has a proxy named {name!r}", exc.status, exc.server_message
            ) from None

    def delete_proxy(self, name: str) -> bool:
        """Delete a proxy. False when it did not exist (already gone)."""
        try:
            self.request("DELETE", f"/proxies/{httpapi.segment(name)}")
        except ProxyNotFound:
            return False
        return True

    def set_enabled(self, name: str, enabled: bool) -> Proxy:
        try:
            return Proxy.from_api(self.request("POST", f"/proxies/{httpapi.segment(name)}", {"enabled": enabled}))
        except ProxyNotFound:
            raise self.not_found(name) from None

    # -- toxics ------------------------------------------------------------------------------
    def toxics(self, proxy: str) -> list[Toxic]:
        try:
            data = self.request("GET", f"/proxies/{httpapi.segment(proxy)}/toxics")
        except ProxyNotFound:
            raise self.not_found(proxy) from None
        return [Toxic.from_api(t) for t in data or []]

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> Toxic:
        body = {"name": name, "type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes or {}}
        try:
            return Toxic.from_api(self.request("POST", f"/proxies/{httpapi.segment(proxy)}/toxics", body))
        except ProxyNotFound:
            raise self.not_found(proxy) from None

    def delete_toxic(self, proxy: str, name: str) -> bool:
        """Delete a toxic. False when it (or its proxy) no longer exists: already gone."""
        try:
            self.request("DELETE", f"/proxies/{httpapi.segment(proxy)}/toxics/{httpapi.segment(name)}")
        except (ToxicNotFound, ProxyNotFound):
            return False
        return True
