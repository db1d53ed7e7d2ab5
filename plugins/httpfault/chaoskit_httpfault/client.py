"""A small typed client for the HTTP fault proxy's control API (standard library only).

Every call has a timeout; every refusal becomes an :class:`HttpFaultError` (a :class:`chaoskit.errors.PluginError`)
carrying the engine's own message, and a proxy process that is not running becomes :class:`ServerUnavailable`
naming the URL and how to start one.
"""

from __future__ import annotations

import json
from typing import Any

from chaoskit import httpapi
from chaoskit.errors import PluginError

DEFAULT_URL = "http://127.0.0.1:8475"
START_HINT = (
    "start one with `chaoskit-httpfault-server` (scripts/setup-httpfault.sh installs its engine) or set HTTPFAULT_URL"
)


class HttpFaultError(PluginError):
    """The HTTP fault proxy refused a request; ``status`` and ``server_message`` are what it said."""

    def __init__(self, message: str, status: int | None = None, server_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class ServerUnavailable(HttpFaultError):
    """No HTTP fault proxy answers at the URL (refused, timed out, or not one)."""


class NotFound(HttpFaultError):
    """No such proxy or rule."""


class AlreadyExists(HttpFaultError):
    pass


class AddressInUse(HttpFaultError):
    """A proxy's ``listen`` address is taken (by another process or another proxy)."""


class HttpFaultClient:
    """One HTTP fault proxy process. ``timeout`` (seconds) caps every request."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpFaultClient({self.url!r}, timeout={self.timeout:g})"

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send one request; return the decoded JSON body. Raises HttpFaultError."""
        what = f"{method} {self.url}{path}"
        try:
            raw = httpapi.call(self.url + path, method, body, self.timeout)
        except httpapi.Refused as exc:
            text = f"HTTP fault proxy at {self.url} refused {what}: {exc.message} (HTTP {exc.status})"
            kind = {404: NotFound, 409: AlreadyExists}.get(exc.status, HttpFaultError)
            if "address already in use" in exc.message:
                kind = AddressInUse
            raise kind(text, exc.status, exc.message) from None
        except httpapi.Unreachable as exc:
            raise ServerUnavailable(f"no HTTP fault proxy at {self.url} ({what}: {exc.reason}); {START_HINT}") from None
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError:
            raise ServerUnavailable(f"{self.url} did not answer {what} like an HTTP fault proxy") from None

    def version(self) -> dict[str, Any]:
        data = self.request("GET", "/version")
        if not isinstance(data, dict) or "api" not in data:
            raise ServerUnavailable(f"{self.url}/version did not answer like an HTTP fault proxy (got {data!r})")
        return data

    # -- proxies -------------------------------------------------------------------------------
    def proxies(self) -> dict[str, dict[str, Any]]:
        return dict(self.request("GET", "/proxies"))

    def create_proxy(self, name: str, listen: str, upstream: str, keep_host: bool = False) -> dict[str, Any]:
        body = {"name": name, "listen": listen, "upstream": upstream, "keep_host": keep_host}
        return dict(self.request("POST", "/proxies", body))

    def delete_proxy(self, name: str) -> bool:
        """Delete a proxy (and its rules). False when it did not exist."""
        try:
            self.request("DELETE", f"/proxies/{httpapi.segment(name)}")
        except NotFound:
            return False
        return True

    def not_found(self, name: str) -> NotFound:
        try:
            known = ", ".join(sorted(self.proxies())) or "none"
        except HttpFaultError:
            known = "?"
        return NotFound(
            f"HTTP fault proxy at {self.url} has no proxy {name!r} (existing proxies: {known}); "
            "declare it under `httpfault: proxies:` to have chaoskit create it",
            404,
            "proxy not found",
        )

    # -- rules ---------------------------------------------------------------------------------
    def rules(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/rules"))

    def rule(self, rule_id: str) -> dict[str, Any] | None:
        """A rule with its hits (also a deleted one: ``active`` is then false); None when unknown."""
        try:
            return dict(self.request("GET", f"/rules/{httpapi.segment(rule_id)}"))
        except NotFound:
            return None

    def add_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(self.request("POST", "/rules", rule))
        except NotFound:
            raise self.not_found(str(rule.get("proxy"))) from None

    def delete_rule(self, rule_id: str) -> dict[str, Any] | None:
        """Delete a rule; its last view (with hits), or None when it was already gone."""
        try:
            return dict(self.request("DELETE", f"/rules/{httpapi.segment(rule_id)}"))
        except NotFound:
            return None
