"""Toxiproxy faults: one toxic per stream (two for ``stream: both``), or a disabled proxy (``down``).

``plan`` reads the server (no side effects) and picks deterministic, unique toxic names
(``chaoskit-<run_id>-<n>-<stream>``); the revert info holds the server URL, the proxy and those names,
so ``revert`` deletes exactly them -- in the runner or in ``chaoskit rollback`` after a SIGKILL. A toxic
or proxy that is already gone counts as reverted.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import replace
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, model_validator

from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context, Fault, RunNumbers
from chaoskit_toxiproxy.client import Proxy, ProxyNotFound, ToxiproxyClient, ToxiproxyError
from chaoskit_toxiproxy.section import NAME, ToxiproxySection, section

Stream = Literal["upstream", "downstream", "both"]


class ProxyParams(StrictModel):
    proxy: str = Field(pattern=NAME, description="The Toxiproxy proxy (its name) the fault applies to.")


class ToxicParams(ProxyParams):
    stream: Stream = Field(
        default="downstream",
        description="downstream: dependency -> client; upstream: client -> dependency; both: one toxic each.",
    )
    toxicity: float = Field(default=1.0, ge=0, le=1, description="Share of connections affected (0..1).")


class LatencyParams(ToxicParams):
    latency_ms: int = Field(ge=0, description="Delay added to the data, in milliseconds.")
    jitter_ms: int = Field(default=0, ge=0, description="Random +/- variation of the delay, in milliseconds.")


class BandwidthParams(ToxicParams):
    rate_kbps: int = Field(ge=0, description="Throughput cap in kilobytes per second (KB/s, Toxiproxy's `rate`).")


class TimeoutParams(ToxicParams):
    timeout_ms: int = Field(
        ge=0, description="Stop all data; close the connection after this many ms (0: hold until reverted)."
    )


class ResetPeerParams(ToxicParams):
    timeout_ms: int = Field(default=0, ge=0, description="Reset the connection (TCP RST) after this many ms.")


class SlowCloseParams(ToxicParams):
    delay_ms: int = Field(ge=0, description="Delay the closing of the connection by this many ms.")


class SlicerParams(ToxicParams):
    average_size_bytes: int = Field(gt=0, description="Average size of the slices the data is cut into.")
    size_variation_bytes: int = Field(default=0, ge=0, description="Random variation of the slice size.")
    delay_us: int = Field(default=0, ge=0, description="Delay between slices, in microseconds.")

    @model_validator(mode="after")
    def _variation(self) -> SlicerParams:
        if self.size_variation_bytes >= self.average_size_bytes:
            raise ValueError("size_variation_bytes must be smaller than average_size_bytes")
        return self


class LimitDataParams(ToxicParams):
    bytes: int = Field(ge=0, description="Close the connection after this many bytes went through.")


_numbers = RunNumbers()


def _client(info: dict[str, Any]) -> ToxiproxyClient:
    return ToxiproxyClient(str(info["url"]), float(info.get("timeout", 5.0)))


def resolve_proxy(sec: ToxiproxySection, name: str, ctx: Context) -> tuple[Proxy | None, str]:
    """The proxy on the server, or None when it is declared in the section and a dry run (it would be created).
    Also returns a short text saying where it comes from."""
    client = sec.client()
    proxy = client.find_proxy(name)
    if proxy is not None:
        return proxy, f"{proxy.listen} -> {proxy.upstream}"
    spec = sec.declared(name)
    if spec is None:
        raise client.not_found(name)
    if ctx.dry_run:
        return None, f"{spec.listen} -> {spec.upstream}, created at run start"
    raise ProxyNotFound(
        f"proxy {name!r} is declared under `toxiproxy: proxies:` but does not exist on Toxiproxy at {sec.url}: "
        "creating it at run start failed (see the run's errors) or something deleted it",
        404,
        "proxy not found",
    )


def proxy_preflight(params: ProxyParams, ctx: Context) -> list[str]:
    """Preflight of a fault on a proxy: the server answers, and the proxy exists there or is declared."""
    try:
        resolve_proxy(section(ctx), params.proxy, replace(ctx, dry_run=True))
    except ToxiproxyError as exc:
        return [str(exc)]
    return []


P = TypeVar("P", bound=ToxicParams)


class ToxicFault(Fault[P]):
    """Base of the toxic faults: subclasses name the toxic type and map params to its attributes."""

    toxic_type: ClassVar[str] = ""

    @abstractmethod
    def attributes(self, params: P) -> dict[str, int]:
        """The toxic's attributes (Toxiproxy's names) from the params."""

    def preflight(self, params: P, ctx: Context) -> list[str]:
        return proxy_preflight(params, ctx)

    def plan(self, params: P, ctx: Context) -> dict[str, Any]:
        sec = section(ctx)
        proxy, where = resolve_proxy(sec, params.proxy, ctx)
        taken = {t.name for t in proxy.toxics} if proxy is not None else set()
        streams = ["upstream", "downstream"] if params.stream == "both" else [params.stream]
        while True:
            base = f"chaoskit-{ctx.run_id}-{_numbers.next(ctx.run_id)}"
            toxics = [{"name": f"{base}-{s}", "stream": s} for s in streams]
            if not taken & {t["name"] for t in toxics}:
                break
        return {
            "url": sec.url,
            "timeout": sec.timeout,
            "proxy": params.proxy,
            "where": where,
            "type": self.toxic_type,
            "toxicity": params.toxicity,
            "attributes": self.attributes(params),
            "toxics": toxics,
        }

    def inject(self, params: P, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        client = _client(info)
        for toxic in info["toxics"]:
            if ctx.cancel.is_set():  # the run is stopping: add no more (revert deletes what was added)
                raise PluginError(f"toxiproxy: {info['type']} on {info['proxy']} cancelled: the run is stopping")
            client.add_toxic(
                info["proxy"], toxic["name"], info["type"], toxic["stream"], info["toxicity"], info["attributes"]
            )
        return None

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        client = _client(info)
        for toxic in info["toxics"]:
            client.delete_toxic(info["proxy"], toxic["name"])

    def describe(self, info: dict[str, Any]) -> str:
        attrs = ", ".join(f"{k}={v}" for k, v in info["attributes"].items())
        names = ", ".join(t["name"] for t in info["toxics"])
        return (
            f"{info['type']} ({attrs}, toxicity={info['toxicity']:g}) on proxy {info['proxy']} "
            f"({info['where']}) at {info['url']}: toxics {names}"
        )


class LatencyFault(ToxicFault[LatencyParams]):
    """Add latency (and jitter) to the data through a proxy."""

    Params = LatencyParams
    toxic_type = "latency"

    def attributes(self, params: LatencyParams) -> dict[str, int]:
        return {"latency": params.latency_ms, "jitter": params.jitter_ms}


class BandwidthFault(ToxicFault[BandwidthParams]):
    """Cap the throughput through a proxy (KB/s)."""

    Params = BandwidthParams
    toxic_type = "bandwidth"

    def attributes(self, params: BandwidthParams) -> dict[str, int]:
        return {"rate": params.rate_kbps}


class TimeoutFault(ToxicFault[TimeoutParams]):
    """Stop all data through a proxy; close connections after timeout_ms (0: never)."""

    Params = TimeoutParams
    toxic_type = "timeout"

    def attributes(self, params: TimeoutParams) -> dict[str, int]:
        return {"timeout": params.timeout_ms}


class ResetPeerFault(ToxicFault[ResetPeerParams]):
    """Reset connections through a proxy (TCP RST) after timeout_ms."""

    Params = ResetPeerParams
    toxic_type = "reset_peer"

    def attributes(self, params: ResetPeerParams) -> dict[str, int]:
        return {"timeout": params.timeout_ms}


class SlowCloseFault(ToxicFault[SlowCloseParams]):
    """Delay the closing of connections through a proxy."""

    Params = SlowCloseParams
    toxic_type = "slow_close"

    def attributes(self, params: SlowCloseParams) -> dict[str, int]:
        return {"delay": params.delay_ms}


class SlicerFault(ToxicFault[SlicerParams]):
    """Cut the data through a proxy into small slices, optionally delayed."""

    Params = SlicerParams
    toxic_type = "slicer"

    def attributes(self, params: SlicerParams) -> dict[str, int]:
        return {
            "average_size": params.average_size_bytes,
            "size_variation": params.size_variation_bytes,
            "delay": params.delay_us,
        }


class LimitDataFault(ToxicFault[LimitDataParams]):
    """Close connections through a proxy after a number of bytes."""

    Params = LimitDataParams
    toxic_type = "limit_data"

    def attributes(self, params: LimitDataParams) -> dict[str, int]:
        return {"bytes": params.bytes}


class DownFault(Fault[ProxyParams]):
    """Disable a proxy: the dependency behind it is unreachable (connections refused)."""

    Params = ProxyParams

    def preflight(self, params: ProxyParams, ctx: Context) -> list[str]:
        return proxy_preflight(params, ctx)

    def plan(self, params: ProxyParams, ctx: Context) -> dict[str, Any]:
        sec = section(ctx)
        proxy, where = resolve_proxy(sec, params.proxy, ctx)
        return {
            "url": sec.url,
            "timeout": sec.timeout,
            "proxy": params.proxy,
            "where": where,
            "was_enabled": True if proxy is None else proxy.enabled,
        }

    def inject(self, params: ProxyParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        _client(info).set_enabled(info["proxy"], False)
        return None

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        if not info.get("was_enabled", True):
            return  # it was disabled before the run: leave it as it was
        client = _client(info)
        try:
            client.set_enabled(info["proxy"], True)
        except ProxyNotFound:
            return  # the proxy itself is gone: nothing left to re-enable

    def describe(self, info: dict[str, Any]) -> str:
        state = "" if info.get("was_enabled", True) else " (already disabled: nothing to do)"
        return f"disable proxy {info['proxy']} ({info['where']}) at {info['url']}{state}"
