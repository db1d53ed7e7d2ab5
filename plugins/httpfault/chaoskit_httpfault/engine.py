"""The HTTP fault proxy: a mitmproxy addon, loaded by ``mitmdump -s engine.py`` in the engine's own virtualenv.

It imports only the standard library and mitmproxy (chaoskit is not installed where it runs). One process hosts:

* the control API, itself a mitmproxy listener (a reverse-proxy mode whose upstream is never contacted: the
  addon answers every request on it), so everything runs on mitmproxy's one event loop, without threads;
* the proxies, one reverse-proxy mode each (``listen`` -> ``upstream``), added and removed at run time;
* the rules: per proxy, in creation order. A rule matches (method, path glob/regex, host, headers), selects
  (the first N matching requests and/or a percentage of them) and acts (abort, delay, reset, truncate, corrupt,
  set_header, remove_header, rate_limit). Each rule counts ``matched`` and ``applied``.

Requests and responses stream through unless a rule needs the whole response body (truncate, corrupt,
reset mid-response), so chunked, streamed and large bodies pass as they come; WebSocket upgrades pass through.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import math
import os
import random
import re
import socket
import time
from collections import deque
from typing import Any

from mitmproxy import ctx, http  # type: ignore[import-not-found, unused-ignore]
from mitmproxy.proxy import mode_specs  # type: ignore[import-not-found, unused-ignore]

ENGINE_API = 1
KEEP_FINISHED = 10_000  # deleted rules whose last counters stay readable (bounded: oldest go first)
ACTIONS = {"abort", "delay", "reset", "truncate", "corrupt", "set_header", "remove_header", "rate_limit"}
BODY_ACTIONS = {"truncate", "corrupt"}


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Rule:
    """One rule as the control API received it (already validated by the chaoskit plugin), plus counters."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.id = str(data["id"])
        self.proxy = str(data["proxy"])
        match = data.get("match") or {}
        self.methods = {m.upper() for m in match.get("methods") or []}
        self.path_glob = match.get("path")
        try:
            self.path_regex = re.compile(match["path_regex"]) if match.get("path_regex") else None
        except re.error as exc:
            raise BadRequest(f"rule {self.id}: path_regex is not a valid regular expression ({exc})") from None
        self.host = (match.get("host") or "").lower() or None
        self.headers = {k.lower(): str(v) for k, v in (match.get("headers") or {}).items()}
        self.percent = float(data.get("percent", 100.0))
        self.first = data.get("first")
        self.action = dict(data["action"])
        if self.action.get("type") not in ACTIONS:
            raise BadRequest(f"rule {self.id}: unknown action {self.action.get('type')!r}")
        self.random = random.Random(data.get("seed"))
        self.matched = 0
        self.applied = 0
        self.window: deque[float] = deque()  # rate_limit: admission times within the last second

    def matches(self, request: Any, host: str) -> bool:
        if self.methods and request.method.upper() not in self.methods:
            return False
        path = request.path.split("?", 1)[0]
        if self.path_glob is not None and not fnmatch.fnmatchcase(path, self.path_glob):
            return False
        if self.path_regex is not None and not self.path_regex.search(path):
            return False
        if self.host is not None and not fnmatch.fnmatchcase(host, self.host):
            return False
        for name, pattern in self.headers.items():
            value = request.headers.get(name)
            if value is None or not fnmatch.fnmatchcase(value, pattern):
                return False
        return True

    def selects(self) -> bool:
        """Called once per matching request: counts it, then says whether the rule applies to it."""
        self.matched += 1
        if self.first is not None and self.matched > int(self.first):
            return False
        return self.percent >= 100 or self.random.random() * 100 < self.percent

    def over_rate(self, now: float) -> float | None:
        """rate_limit: None when the request is admitted, else the seconds until a slot frees up."""
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) < int(self.action["rps"]):
            self.window.append(now)
            return None
        return 1.0 - (now - self.window[0])

    def view(self) -> dict[str, Any]:
        return {**self.data, "hits": {"matched": self.matched, "applied": self.applied}}


class Proxy:
    def __init__(self, name: str, listen: str, upstream: str, keep_host: bool) -> None:
        self.name, self.listen, self.upstream, self.keep_host = name, listen, upstream, keep_host
        self.spec = f"reverse:{upstream}@{listen}"
        self.mode = mode_specs.ProxyMode.parse(self.spec)
        self.requests = 0

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "keep_host": self.keep_host,
            "requests": self.requests,
        }


def _json(status: int, body: Any) -> Any:
    content = b"" if body is None else json.dumps(body).encode()
    return http.Response.make(status, content, {"content-type": "application/json"})


class HttpFault:
    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.rules: dict[str, Rule] = {}
        self.finished: dict[str, dict[str, Any]] = {}  # deleted rules' last view, so a revert can read the hits
        self.control: Any = None

    def load(self, loader: Any) -> None:
        loader.add_option("httpfault_control", str, "", "The control API's mode spec (reverse:...@host:port).")
        loader.add_option("httpfault_ready", str, "", "A file to write the control API's port to once it listens.")

    async def running(self) -> None:
        self.control = mode_specs.ProxyMode.parse(ctx.options.httpfault_control)
        if not ctx.options.httpfault_ready:
            return
        server = ctx.master.addons.get("proxyserver")
        for _ in range(3000):  # bounded: ~30 s
            try:
                addrs = server.servers[self.control].listen_addrs
            except KeyError:
                addrs = ()
            if addrs:
                with open(ctx.options.httpfault_ready + ".tmp", "w") as out:
                    out.write(str(addrs[0][1]))
                os.replace(ctx.options.httpfault_ready + ".tmp", ctx.options.httpfault_ready)
                return
            await asyncio.sleep(0.01)

    # -- control API ---------------------------------------------------------------------------
    async def request(self, flow: Any) -> None:
        if flow.client_conn.proxy_mode != self.control:
            return
        try:
            status, body = await self.handle(flow.request.method, flow.request.path, flow.request.content or b"")
        except BadRequest as exc:
            status, body = exc.status, {"error": str(exc)}
        flow.response = _json(status, body)

    async def handle(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        parts = [p for p in path.split("?", 1)[0].split("/") if p]
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise BadRequest("the request body is not JSON") from None
        if parts == ["version"]:
            return 200, {"engine": "mitmproxy", "version": _mitmproxy_version(), "api": ENGINE_API}
        if parts == ["proxies"] and method == "GET":
            return 200, {name: p.view() for name, p in self.proxies.items()}
        if parts == ["proxies"] and method == "POST":
            return await self.create_proxy(data)
        if len(parts) == 2 and parts[0] == "proxies" and method == "DELETE":
            return await self.delete_proxy(parts[1])
        if parts == ["rules"] and method == "GET":
            return 200, [r.view() for r in self.rules.values()]
        if parts == ["rules"] and method == "POST":
            return self.add_rule(data)
        if len(parts) == 2 and parts[0] == "rules" and method == "GET":
            rule = self.rules.get(parts[1])
            if rule is not None:
                return 200, {**rule.view(), "active": True}
            if parts[1] in self.finished:
                return 200, {**self.finished[parts[1]], "active": False}
            raise BadRequest(f"rule not found: {parts[1]}", 404)
        if len(parts) == 2 and parts[0] == "rules" and method == "DELETE":
            rule = self.rules.pop(parts[1], None)
            if rule is None:
                raise BadRequest(f"rule not found: {parts[1]}", 404)
            self.finish(rule)
            return 200, rule.view()
        raise BadRequest(f"no such endpoint: {method} {path}", 404)

    async def create_proxy(self, data: dict[str, Any]) -> tuple[int, Any]:
        """Listen on ``listen``; port 0 picks a free port here (another one if it got taken meanwhile)."""
        try:
            name, listen, upstream = str(data["name"]), str(data["listen"]), str(data["upstream"])
        except KeyError as exc:
            raise BadRequest(f"a proxy needs {exc.args[0]!r}") from None
        if name in self.proxies:
            raise BadRequest(f"proxy already exists: {name}", 409)
        host, _, port = listen.rpartition(":")
        error = ""
        for _attempt in range(5 if port == "0" else 1):
            address = f"{host}:{_free_port(host)}" if port == "0" else listen
            try:
                proxy = Proxy(name, address, upstream, bool(data.get("keep_host", False)))
            except ValueError as exc:
                raise BadRequest(f"proxy {name}: invalid listen/upstream ({exc})") from None
            if any(p.mode.listen_port() == proxy.mode.listen_port() for p in self.proxies.values()):
                error = "address already in use by another proxy"
                continue
            self.proxies[name] = proxy
            failed = await self.apply_modes()
            if failed is None:
                return 201, proxy.view()
            error = failed
            del self.proxies[name]
            await self.apply_modes()
        raise BadRequest(f"proxy {name}: cannot listen on {listen}: {error}")

    async def delete_proxy(self, name: str) -> tuple[int, Any]:
        proxy = self.proxies.pop(name, None)
        if proxy is None:
            raise BadRequest(f"proxy not found: {name}", 404)
        for rule in [r for r in self.rules.values() if r.proxy == name]:
            self.finish(self.rules.pop(rule.id))
        await self.apply_modes()
        return 200, proxy.view()

    def finish(self, rule: Rule) -> None:
        self.finished[rule.id] = rule.view()
        while len(self.finished) > KEEP_FINISHED:
            self.finished.pop(next(iter(self.finished)))

    async def apply_modes(self) -> str | None:
        """Make mitmproxy listen on the control address plus every proxy; the error of a proxy that cannot."""
        try:
            ctx.options.update(mode=[ctx.options.httpfault_control, *(p.spec for p in self.proxies.values())])
        except Exception as exc:  # mitmproxy refuses the option (e.g. two listeners on one address)
            return str(exc)
        server = ctx.master.addons.get("proxyserver")
        for _ in range(500):  # the update runs as a task on this loop: wait for it (bounded, ~5 s)
            task = getattr(server, "_update_task", None)
            if task is None or task.done():
                break
            await asyncio.sleep(0.01)
        for proxy in self.proxies.values():
            try:
                instance = server.servers[proxy.mode]
            except KeyError:
                continue
            if instance.last_exception is not None:
                return str(instance.last_exception)
        return None

    def add_rule(self, data: dict[str, Any]) -> tuple[int, Any]:
        try:
            rule = Rule(data)
        except KeyError as exc:
            raise BadRequest(f"a rule needs {exc.args[0]!r}") from None
        if rule.id in self.rules or rule.id in self.finished:
            raise BadRequest(f"rule already exists: {rule.id}", 409)
        if rule.proxy not in self.proxies:
            raise BadRequest(f"proxy not found: {rule.proxy}", 404)
        self.rules[rule.id] = rule
        return 201, rule.view()

    # -- proxied traffic -----------------------------------------------------------------------
    def server_connect(self, data: Any) -> None:
        """TLS upstreams get the upstream's name as SNI (mitmproxy sets none when keep_host_header is on)."""
        mode = data.client.proxy_mode
        if data.server.sni is None and getattr(mode, "scheme", "") == "https" and self.proxy_of_mode(mode):
            data.server.sni = mode.address[0]

    def proxy_of_mode(self, mode: Any) -> Proxy | None:
        return next((p for p in self.proxies.values() if p.mode == mode), None)

    async def requestheaders(self, flow: Any) -> None:
        proxy = self.proxy_of_mode(flow.client_conn.proxy_mode)
        if proxy is None:
            return
        proxy.requests += 1
        request = flow.request
        host = (request.host_header or "").rsplit(":", 1)[0].strip("[]").lower()
        later: list[dict[str, Any]] = []
        for rule in list(self.rules.values()):
            if rule.proxy != proxy.name or not rule.matches(request, host) or not rule.selects():
                continue
            action, kind = rule.action, rule.action["type"]
            if kind == "rate_limit":
                wait = rule.over_rate(time.monotonic())
                if wait is None:
                    continue
                rule.applied += 1
                retry = str(max(1, math.ceil(wait)))
                flow.response = http.Response.make(429, b"rate limited\n", {"retry-after": retry})
                break
            rule.applied += 1
            if kind == "abort":
                headers = {str(k): str(v) for k, v in (action.get("headers") or {}).items()}
                flow.response = http.Response.make(int(action["status"]), str(action.get("body", "")), headers)
                break
            if kind == "reset" and action.get("when", "before_response") == "before_response":
                flow.kill()
                return
            if kind == "delay" and action.get("when", "request") == "request":
                await asyncio.sleep(_delay_s(action, rule.random))
            elif kind in ("set_header", "remove_header") and action.get("on", "response") == "request":
                _edit_headers(request.headers, action)
            else:
                later.append(action)
        flow.metadata["httpfault"] = later
        if flow.response is not None:
            flow.metadata["httpfault_answered"] = True
            request.stream = False
            return
        if not proxy.keep_host:
            request.host_header = _authority(proxy.mode)
        request.stream = True

    async def responseheaders(self, flow: Any) -> None:
        if flow.metadata.get("httpfault_answered"):
            return
        later: list[dict[str, Any]] = flow.metadata.get("httpfault") or []
        whole_body = False
        for action in later:
            kind = action["type"]
            if kind == "delay":
                await asyncio.sleep(_delay_s(action, random))
            elif kind in ("set_header", "remove_header"):
                _edit_headers(flow.response.headers, action)
            elif kind in BODY_ACTIONS or kind == "reset":
                whole_body = True
        flow.response.stream = not whole_body

    def response(self, flow: Any) -> None:
        if flow.metadata.get("httpfault_answered"):
            return
        for action in flow.metadata.get("httpfault") or []:
            kind, response = action["type"], flow.response
            if kind == "truncate":
                body = response.get_content(strict=False) or b""
                keep, fraction = action.get("bytes"), action.get("fraction")
                keep = int(keep) if keep is not None else int(len(body) * (0.5 if fraction is None else fraction))
                response.content = body[:keep]
            elif kind == "corrupt":
                body = bytearray(response.get_content(strict=False) or b"")
                for i in random.sample(range(len(body)), min(int(action.get("bytes", 8)), len(body))):
                    body[i] ^= random.randint(1, 255)
                response.content = bytes(body)
            elif kind == "reset":  # mid-response: the headers promise the whole body, the connection ends early
                raw, after = response.raw_content or b"", int(action.get("after_bytes", 0))
                response.headers.pop("transfer-encoding", None)
                response.raw_content = raw[:after]
                response.headers["content-length"] = str(max(len(raw), after + 1))
                response.headers["connection"] = "close"


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _delay_s(action: dict[str, Any], rng: Any) -> float:
    jitter = float(action.get("jitter_ms", 0))
    return max(0.0, float(action["delay_ms"]) + (rng.uniform(-jitter, jitter) if jitter else 0.0)) / 1000.0


def _edit_headers(headers: Any, action: dict[str, Any]) -> None:
    if action["type"] == "set_header":
        headers[str(action["name"])] = str(action["value"])
    else:
        headers.pop(str(action["name"]), None)


def _authority(mode: Any) -> str:
    host, port = mode.address
    default = 443 if mode.scheme == "https" else 80
    return host if port == default else f"{host}:{port}"


def _mitmproxy_version() -> str:
    from mitmproxy import version  # type: ignore[import-not-found, unused-ignore]

    return str(version.VERSION)


addons = [HttpFault()]
