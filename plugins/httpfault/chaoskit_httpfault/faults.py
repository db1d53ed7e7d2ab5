"""HTTP faults: each one is a rule on a proxy of the HTTP fault proxy (match -> select -> act).

``plan`` reads the proxy (no side effects) and picks a unique rule id (``chaoskit-<run_id>-<n>``); the revert info
holds the control API's URL, the proxy and that id -- never the rule's values (a header value may be a secret) --
so ``revert`` deletes exactly that rule, in the runner or in ``chaoskit rollback`` after a SIGKILL. A rule that is
already gone counts as reverted. ``revert`` also records the rule's final counters (``hits``: matched, applied)
in the revert info, which the journal keeps with the fault.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, field_validator, model_validator

from chaoskit.model.base import Regex, StrictModel
from chaoskit.plugin import Context, Fault, RunNumbers
from chaoskit_httpfault.client import HttpFaultClient, HttpFaultError, NotFound
from chaoskit_httpfault.section import NAME, HttpFaultSection

HEADER = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


class Match(StrictModel):
    """Which requests a rule looks at. Every given criterion must hold; none given: every request."""

    methods: list[str] = Field(default=[], description="HTTP methods, e.g. [POST] (any when empty).")
    path: str | None = Field(default=None, description="Glob on the path without the query, e.g. /payments/*.")
    path_regex: Regex | None = Field(default=None, description="Regex searched in the path without the query.")
    host: str | None = Field(default=None, description="Glob on the Host header's host name, e.g. *.example.com.")
    headers: dict[str, str] = Field(
        default={}, description="Request headers that must be present, name -> glob on the value."
    )

    @field_validator("methods")
    @classmethod
    def _methods(cls, methods: list[str]) -> list[str]:
        return [m.upper() for m in methods]

    def text(self) -> str:
        parts = ["/".join(self.methods) or "any method"]
        if self.path is not None:
            parts.append(self.path)
        if self.path_regex is not None:
            parts.append(f"~/{self.path_regex}/")
        if self.host is not None:
            parts.append(f"host {self.host}")
        if self.headers:
            parts.append("with headers " + ", ".join(sorted(self.headers)))
        return " ".join(parts)


class RuleParams(StrictModel):
    proxy: str = Field(pattern=NAME, description="The HTTP fault proxy's proxy (its name) the rule applies to.")
    match: Match = Field(default_factory=Match, description="Which requests the rule looks at.")
    percent: float = Field(default=100.0, ge=0, le=100, description="Share of the matching requests hit (0..100).")
    first: int | None = Field(
        default=None, ge=1, description="Only the first N matching requests are candidates (with `percent`)."
    )
    seed: int | None = Field(default=None, description="Seed of the rule's random choices (reproducible runs).")

    def action(self) -> dict[str, Any]:
        return self.model_dump(exclude={"proxy", "match", "percent", "first", "seed"})


class AbortParams(RuleParams):
    status: int = Field(default=503, ge=100, le=599, description="Status code answered instead of the upstream's.")
    body: str = Field(default="", max_length=1_000_000, description="Body of that answer.")
    headers: dict[str, str] = Field(default={}, description="Headers of that answer.")


class DelayParams(RuleParams):
    delay_ms: int = Field(ge=0, le=3_600_000, description="Delay in milliseconds.")
    jitter_ms: int = Field(default=0, ge=0, description="Random +/- variation of the delay, in milliseconds.")
    when: Literal["request", "response"] = Field(
        default="request", description="request: before it is sent upstream; response: before it is returned."
    )


class ResetParams(RuleParams):
    when: Literal["before_response", "mid_response"] = Field(
        default="before_response",
        description="before_response: close the connection without an answer; mid_response: send the headers "
        "and `after_bytes` of the body, then close (the client sees a body shorter than announced).",
    )
    after_bytes: int = Field(default=0, ge=0, description="mid_response: body bytes sent before the close.")


class TruncateParams(RuleParams):
    bytes: int | None = Field(default=None, ge=0, description="Keep at most this many bytes of the body.")
    fraction: float | None = Field(
        default=None, ge=0, le=1, description="Keep this share of the body (default 0.5 when `bytes` is not given)."
    )

    @model_validator(mode="after")
    def _one(self) -> TruncateParams:
        if self.bytes is not None and self.fraction is not None:
            raise ValueError("give either `bytes` or `fraction`, not both")
        return self


class CorruptParams(RuleParams):
    bytes: int = Field(default=8, ge=1, description="How many bytes of the body are changed at random places.")


class HeaderParams(RuleParams):
    name: str = Field(pattern=HEADER, description="The header's name.")
    on: Literal["request", "response"] = Field(default="response", description="Which message to change.")


class SetHeaderParams(HeaderParams):
    value: str = Field(description="The header's new value.")


class RateLimitParams(RuleParams):
    rps: int = Field(ge=1, description="Requests per second let through; beyond that: 429 with Retry-After.")


_numbers = RunNumbers()


def _client(info: dict[str, Any]) -> HttpFaultClient:
    return HttpFaultClient(str(info["url"]), float(info.get("timeout", 5.0)))


def resolve_proxy(sec: HttpFaultSection, name: str, ctx: Context) -> str:
    """Where the proxy is (text), checking it exists -- or is declared, for a dry run."""
    client = sec.client()
    proxy = client.proxies().get(name)
    if proxy is not None:
        return f"{proxy['listen']} -> {proxy['upstream']}"
    spec = sec.declared(name)
    if spec is None:
        raise client.not_found(name)
    if ctx.dry_run:
        return f"{spec.listen} -> {spec.upstream}, created at run start"
    raise NotFound(
        f"proxy {name!r} is declared under `httpfault: proxies:` but does not exist on the HTTP fault proxy at "
        f"{sec.url}: creating it at run start failed (see the run's errors) or something deleted it",
        404,
        "proxy not found",
    )


def proxy_preflight(proxy: str, ctx: Context) -> list[str]:
    """Preflight of a step on a proxy: the control API answers, and the proxy exists there or is declared."""
    try:
        resolve_proxy(ctx.section("httpfault", HttpFaultSection), proxy, replace(ctx, dry_run=True))
    except HttpFaultError as exc:
        return [str(exc)]
    return []


P = TypeVar("P", bound=RuleParams)


class RuleFault(Fault[P]):
    """Base of the HTTP faults: subclasses name the action."""

    action_type: ClassVar[str] = ""

    def preflight(self, params: P, ctx: Context) -> list[str]:
        return proxy_preflight(params.proxy, ctx)

    def plan(self, params: P, ctx: Context) -> dict[str, Any]:
        sec = ctx.section("httpfault", HttpFaultSection)
        where = resolve_proxy(sec, params.proxy, ctx)
        taken = {str(r["id"]) for r in sec.client().rules()}
        rule_id = f"chaoskit-{ctx.run_id}-{_numbers.next(ctx.run_id)}"
        while rule_id in taken:
            rule_id = f"chaoskit-{ctx.run_id}-{_numbers.next(ctx.run_id)}"
        share = f"{params.percent:g}% of " if params.percent < 100 else ""
        first = f"the first {params.first} of " if params.first is not None else ""
        return {
            "url": sec.url,
            "timeout": sec.timeout,
            "proxy": params.proxy,
            "where": where,
            "rule": rule_id,
            "summary": f"{self.action_type} {self.summary_of(params)} on {share}{first}{params.match.text()}",
        }

    def summary_of(self, params: P) -> str:
        return ""

    def inject(self, params: P, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        rule = {
            "id": info["rule"],
            "proxy": params.proxy,
            "match": params.match.model_dump(exclude_none=True),
            "percent": params.percent,
            "first": params.first,
            "seed": params.seed,
            "action": {"type": self.action_type, **params.action()},
        }
        _client(info).add_rule(rule)
        return None

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        last = _client(info).delete_rule(str(info["rule"]))
        if last is not None:
            info["hits"] = last.get("hits")  # the journal keeps the revert info: the rule's final counters

    def describe(self, info: dict[str, Any]) -> str:
        return f"{info['summary']} via proxy {info['proxy']} ({info['where']}) at {info['url']}: rule {info['rule']}"


class AbortFault(RuleFault[AbortParams]):
    """Answer matching requests with a status (e.g. 503) instead of passing them upstream."""

    Params = AbortParams
    action_type = "abort"

    def summary_of(self, params: AbortParams) -> str:
        return str(params.status)


class DelayFault(RuleFault[DelayParams]):
    """Delay matching requests (before upstream) or their responses (before they are returned)."""

    Params = DelayParams
    action_type = "delay"

    def summary_of(self, params: DelayParams) -> str:
        jitter = f"+/-{params.jitter_ms}" if params.jitter_ms else ""
        return f"{params.delay_ms}{jitter} ms before the {params.when}"


class ResetFault(RuleFault[ResetParams]):
    """Close the connection of matching requests, before the response or in the middle of its body."""

    Params = ResetParams
    action_type = "reset"

    def summary_of(self, params: ResetParams) -> str:
        return params.when.replace("_", " ")


class TruncateFault(RuleFault[TruncateParams]):
    """Cut the response body of matching requests (a well-formed but shortened body)."""

    Params = TruncateParams
    action_type = "truncate"


class CorruptFault(RuleFault[CorruptParams]):
    """Change random bytes of the response body of matching requests."""

    Params = CorruptParams
    action_type = "corrupt"


class SetHeaderFault(RuleFault[SetHeaderParams]):
    """Set a header on matching requests or their responses."""

    Params = SetHeaderParams
    action_type = "set_header"

    def summary_of(self, params: SetHeaderParams) -> str:
        return f"{params.name} on the {params.on}"  # not the value: it may be a secret


class RemoveHeaderFault(RuleFault[HeaderParams]):
    """Remove a header from matching requests or their responses."""

    Params = HeaderParams
    action_type = "remove_header"

    def summary_of(self, params: HeaderParams) -> str:
        return f"{params.name} from the {params.on}"


class RateLimitFault(RuleFault[RateLimitParams]):
    """Let through N matching requests per second; answer the others 429 with Retry-After."""

    Params = RateLimitParams
    action_type = "rate_limit"

    def summary_of(self, params: RateLimitParams) -> str:
        return f"{params.rps}/s"
