"""``chaostoxi`` (chaostoolkit-toxiproxy) calls on chaoskit's toxiproxy plugin.

Toxics and ``disable_proxy`` are faults (ledger, revert on every path); the toxic keeps the name the experiment
gives it, so ``delete_toxic`` in the rollbacks reverts exactly that ledger entry. The Toxiproxy API is found
as chaostoxi finds it: configuration ``toxiproxy_url``, else ``http://{toxiproxy_host}:{toxiproxy_port|8474}``.
Calls that inject nothing (create/delete a proxy, reset, the probes) go straight to the Toxiproxy HTTP API.
Each function keeps chaostoxi's signature, so arguments are checked as CTK checks them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chaoskit import httpapi
from chaoskit.ctk.extensions import ExtensionError, Handler

if TYPE_CHECKING:
    from chaoskit.ctk.extensions import Extensions

API_TIMEOUT = 10.0

# toxic type -> (chaoskit fault, {chaostoxi attribute: chaoskit parameter})
TOXICS: dict[str, tuple[str, dict[str, str]]] = {
    "latency": ("toxiproxy.latency", {"latency": "latency_ms", "jitter": "jitter_ms"}),
    "bandwidth": ("toxiproxy.bandwidth", {"rate": "rate_kbps"}),
    "slow_close": ("toxiproxy.slow_close", {"delay": "delay_ms"}),
    "timeout": ("toxiproxy.timeout", {"timeout": "timeout_ms"}),
    "reset_peer": ("toxiproxy.reset_peer", {"timeout": "timeout_ms"}),
    "slicer": (
        "toxiproxy.slicer",
        {"average_size": "average_size_bytes", "size_variation": "size_variation_bytes", "delay": "delay_us"},
    ),
    "limit_data": ("toxiproxy.limit_data", {"bytes": "bytes"}),
}


def api_url(ext: Extensions) -> str:
    conf = ext.configuration
    if conf.get("toxiproxy_url"):
        return str(conf["toxiproxy_url"]).rstrip("/")
    if not conf.get("toxiproxy_host"):
        raise ExtensionError("set toxiproxy_host (or toxiproxy_url) in the experiment's configuration")
    return f"http://{conf['toxiproxy_host']}:{conf.get('toxiproxy_port') or 8474}"


def _api(ext: Extensions, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """(HTTP status, JSON body) of one call to the Toxiproxy API: an error status is returned, not raised (as
    chaostoxi does); no answer at all is an ExtensionError."""
    url = api_url(ext)
    try:
        raw = httpapi.call(url + path, method, body, API_TIMEOUT)
    except httpapi.Refused as exc:
        return exc.status, None
    except httpapi.Unreachable as exc:
        raise ExtensionError(f"Toxiproxy at {url} is unreachable: {exc.reason}") from None
    return 200, json.loads(raw) if raw else None


def _proxy_path(name: str) -> str:
    return "/proxies/" + httpapi.segment(name)


def create_toxic(
    ext: Extensions,
    for_proxy: str,
    toxic_name: str,
    toxic_type: str,
    stream: str = "downstream",
    toxicity: float = 1.0,
    attributes: dict[str, Any] | None = None,
) -> bool:
    if toxic_type not in TOXICS:
        raise ExtensionError(f"toxic type {toxic_type!r} is not one of {', '.join(sorted(TOXICS))}")
    plugin, names = TOXICS[toxic_type]
    params: dict[str, Any] = {"proxy": for_proxy, "stream": stream, "toxicity": toxicity}
    for key, value in (attributes or {}).items():
        if key not in names:
            raise ExtensionError(f"{toxic_type} toxics take {', '.join(names)} (not {key!r})")
        params[names[key]] = value
    ctx = ext.context({"toxiproxy": ext.section("toxiproxy", {"url": api_url(ext)})})

    def keep_name(info: dict[str, Any]) -> dict[str, Any]:
        return {**info, "toxics": [{"name": toxic_name, "stream": stream}]}

    ext.inject(plugin, params, ctx, ("toxic", for_proxy, toxic_name), toxic_name, keep_name)
    return True


def create_latency_toxic(ext: Extensions, for_proxy: str, toxic_name: str, latency: int, jitter: int = 0) -> bool:
    return create_toxic(ext, for_proxy, toxic_name, "latency", attributes={"latency": latency, "jitter": jitter})


def create_bandwith_degradation_toxic(ext: Extensions, for_proxy: str, toxic_name: str, rate: int) -> bool:
    return create_toxic(ext, for_proxy, toxic_name, "bandwidth", attributes={"rate": rate})


def create_slow_connection_close_toxic(ext: Extensions, for_proxy: str, toxic_name: str, delay: int) -> bool:
    return create_toxic(ext, for_proxy, toxic_name, "slow_close", attributes={"delay": delay})


def create_timeout_toxic(ext: Extensions, for_proxy: str, toxic_name: str, timeout: int) -> bool:
    return create_toxic(ext, for_proxy, toxic_name, "timeout", attributes={"timeout": timeout})


def create_slicer_toxic(
    ext: Extensions, for_proxy: str, toxic_name: str, average_size: int, size_variation: int, delay: int
) -> bool:
    attributes = {"average_size": average_size, "size_variation": size_variation, "delay": delay}
    return create_toxic(ext, for_proxy, toxic_name, "slicer", attributes=attributes)


def create_limiter_toxic(ext: Extensions, for_proxy: str, toxic_name: str, bytes_limit: int) -> bool:
    return create_toxic(ext, for_proxy, toxic_name, "limit_data", attributes={"bytes": bytes_limit})


def delete_toxic(ext: Extensions, for_proxy: str, toxic_name: str) -> bool:
    """Reverts the ledger entry when chaoskit injected this toxic; otherwise deletes it on the server."""
    item = ext.find(("toxic", for_proxy, toxic_name))
    if item is not None:
        ext.revert(item)
        return True
    status, _ = _api(ext, "DELETE", f"{_proxy_path(for_proxy)}/toxics/{httpapi.segment(toxic_name)}")
    return 200 <= status < 300


def disable_proxy(ext: Extensions, proxy_name: str) -> bool:
    ctx = ext.context({"toxiproxy": ext.section("toxiproxy", {"url": api_url(ext)})})
    ext.inject("toxiproxy.down", {"proxy": proxy_name}, ctx, ("proxy-down", proxy_name), f"disable {proxy_name}")
    return True


def enable_proxy(ext: Extensions, proxy_name: str) -> bool:
    item = ext.find(("proxy-down", proxy_name))
    if item is not None:
        ext.revert(item)
        return True
    status, _ = _api(ext, "POST", _proxy_path(proxy_name), {"enabled": True})
    return 200 <= status < 300


def create_proxy(
    ext: Extensions,
    proxy_name: str,
    upstream_host: str,
    upstream_port: int,
    listen_host: str = "0.0.0.0",
    listen_port: int = 0,
    enabled: bool = True,
) -> bool:
    body = {
        "name": proxy_name,
        "listen": f"{listen_host}:{listen_port}",
        "upstream": f"{upstream_host}:{upstream_port}",
        "enabled": enabled,
    }
    status, proxy = _api(ext, "POST", "/proxies", body)
    if not 200 <= status < 300 or not proxy:
        raise ExtensionError(f"Toxiproxy refused to create proxy {proxy_name!r} (HTTP {status})")
    ext.configuration[f"{proxy_name}_PORT"] = str(proxy["listen"]).rsplit(":", 1)[-1]
    return True


def delete_proxy(ext: Extensions, proxy_name: str) -> None:
    _api(ext, "DELETE", _proxy_path(proxy_name))


def reset(ext: Extensions) -> bool:
    status, _ = _api(ext, "POST", "/reset")
    return 200 <= status < 300


def proxy_exist(ext: Extensions, proxy_name: str) -> bool:
    status, proxy = _api(ext, "GET", _proxy_path(proxy_name))
    return 200 <= status < 300 and bool(proxy) and proxy.get("name") == proxy_name


def get_proxy_attribute(ext: Extensions, proxy_name: str, attribute: str) -> Any:
    status, proxy = _api(ext, "GET", _proxy_path(proxy_name))
    if not 200 <= status < 300 or not proxy:
        return None
    if attribute not in proxy:
        raise ExtensionError(f"proxy {proxy_name!r} has no attribute {attribute!r} (has: {', '.join(proxy)})")
    return proxy[attribute]


HANDLERS: dict[str, Handler] = {
    **{
        f"chaostoxi.toxic.actions.{f.__name__}": f
        for f in (
            create_toxic,
            create_latency_toxic,
            create_bandwith_degradation_toxic,
            create_slow_connection_close_toxic,
            create_timeout_toxic,
            create_slicer_toxic,
            create_limiter_toxic,
            delete_toxic,
        )
    },
    **{
        f"chaostoxi.proxy.actions.{f.__name__}": f
        for f in (create_proxy, delete_proxy, disable_proxy, enable_proxy, reset)
    },
    "chaostoxi.toxic.actions.reset": reset,
    **{f"chaostoxi.proxy.probes.{f.__name__}": f for f in (proxy_exist, get_proxy_attribute)},
}
