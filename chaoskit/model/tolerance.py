"""Tolerances: what a probe's observation must look like (``expect:``).

Every form is explicit: ``equals``, ``min``/``max`` (a range), ``one_of`` (a list of allowed
values), ``regex``, ``jsonpath`` (select inside a JSON body, then apply the other checks), and for
HTTP probes ``status``, ``latency_ms``, ``body`` and ``headers``. A bare list is never guessed to be a range.
A probe whose value alone means little (``Probe.tolerance_hint``: an http probe's value is its status code)
refuses bare checks: its ``expect`` must name what it checks.
"""

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Self

from pydantic import Field, JsonValue, field_validator, model_validator

from chaoskit.model.base import Regex, StrictModel


@dataclass(frozen=True)
class Observation:
    """What a probe saw: a primary ``value`` plus named ``details`` (e.g. status, latency_ms, json)."""

    value: Any
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    no_data: bool = False
    """It failed only because a number was expected and there was none (a load probe with no request in its
    window yet): in recovery such a sample is pending, neither a miss nor a pass."""


class Check(StrictModel):
    """Checks on one value. Every check that is set must hold."""

    equals: JsonValue = Field(default=None, description="The value must equal this.")
    min: float | None = Field(default=None, description="Inclusive lower bound (numbers).")
    max: float | None = Field(default=None, description="Inclusive upper bound (numbers).")
    one_of: list[JsonValue] | None = Field(default=None, description="The value must be one of these.")
    regex: Regex | None = Field(default=None, description="The value (as text) must match (re.search).")

    @model_validator(mode="after")
    def _sane(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.one_of is not None and not self.one_of:
            raise ValueError("one_of must list at least one value")
        return self

    def _has_checks(self) -> bool:
        return bool({"equals", "min", "max", "one_of", "regex"} & self.model_fields_set)

    def evaluate(self, value: Any, what: str = "value") -> Verdict:
        fails: list[str] = []
        if "equals" in self.model_fields_set and value != self.equals:
            fails.append(f"{what} {value!r} != {self.equals!r}")
        if self.min is not None or self.max is not None:
            if value is None:  # e.g. load.error_rate over a window without a request yet
                fails.append(f"{what} None is not a number (no data; for a load probe: no request in its window)")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                fails.append(f"{what} {value!r} is not a number")
            else:
                if self.min is not None and value < self.min:
                    fails.append(f"{what} {value!r} < min {self.min:g}")
                if self.max is not None and value > self.max:
                    fails.append(f"{what} {value!r} > max {self.max:g}")
        if self.one_of is not None and value not in self.one_of:
            fails.append(f"{what} {value!r} not in {self.one_of!r}")
        if self.regex is not None and (value is None or not re.search(self.regex, str(value))):
            fails.append(f"{what} {_short(value)} does not match /{self.regex}/")
        if fails:
            only_no_data = value is None and len(fails) == 1 and (self.min is not None or self.max is not None)
            return Verdict(False, "; ".join(fails), no_data=only_no_data)
        return Verdict(True, f"{what} {_short(value)} ok")


class Expect(Check):
    """A probe's tolerance. Checks apply to the probe's value (or to what ``jsonpath`` selects)."""

    jsonpath: str | None = Field(
        default=None,
        description="JSONPath into the JSON body (or the value); the other checks apply to the first match.",
    )
    status: list[int] | None = Field(
        default=None,
        description="HTTP status code, or a list of allowed codes (any one of them).",
        json_schema_extra={
            "anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}, {"type": "null"}]
        },
    )  # the schema says what a user may write: one code or a list (_one_status turns one into a list)
    latency_ms: Check | None = Field(default=None, description="Checks on the probe's latency in ms.")
    body: Check | None = Field(default=None, description="HTTP probes: checks on the response body (text).")
    headers: dict[str, Check] | None = Field(
        default=None,
        description="HTTP probes: checks on response headers by name (case-insensitive); a missing one is null.",
    )

    @field_validator("status", mode="before")
    @classmethod
    def _one_status(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]
        if value is None or isinstance(value, list):
            return value
        raise ValueError(f"status is an HTTP status code (200) or a list of them ([200, 204]), not {value!r}")

    @field_validator("jsonpath")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            _compile_jsonpath(value)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        targets = (self.status, self.latency_ms, self.body, self.headers)
        if not (self._has_checks() or any(t is not None for t in targets)):
            raise ValueError(
                "expect needs at least one check: equals, min, max, one_of, regex, status, latency_ms, body or headers"
            )
        if self.jsonpath is not None and not self._has_checks():
            raise ValueError("jsonpath selects a value; add a check for it (equals, min, max, one_of, regex)")
        return self

    def evaluate_observation(self, obs: Observation) -> Verdict:
        verdicts: list[Verdict] = []
        if self.status is not None:
            allowed = self.status
            status = obs.details.get("status", obs.value)
            verdicts.append(
                Verdict(status in allowed, f"status {status} {'in' if status in allowed else 'not in'} {allowed}")
            )
        if self.latency_ms is not None:
            latency = obs.details.get("latency_ms")
            verdicts.append(self.latency_ms.evaluate(latency, "latency_ms"))
        if self.body is not None:
            verdicts.append(self.body.evaluate(obs.details.get("body"), "body"))
        if self.headers is not None:
            seen = {str(k).lower(): v for k, v in (obs.details.get("headers") or {}).items()}
            for name, check in self.headers.items():
                verdicts.append(check.evaluate(seen.get(name.lower()), f"header {name}"))
        if self._has_checks():
            if self.jsonpath is not None:
                doc = obs.details.get("json", obs.value)
                matches = [m.value for m in _compile_jsonpath(self.jsonpath).find(doc)]
                if not matches:
                    verdicts.append(Verdict(False, f"jsonpath {self.jsonpath} matched nothing"))
                else:
                    verdicts.append(self.evaluate(matches[0], self.jsonpath))
            else:
                verdicts.append(self.evaluate(obs.value))
        ok = all(v.ok for v in verdicts)
        shown = [v.reason for v in verdicts if not v.ok] if not ok else [v.reason for v in verdicts]
        return Verdict(ok, "; ".join(shown), no_data=not ok and all(v.no_data for v in verdicts if not v.ok))


@functools.lru_cache(maxsize=256)
def _compile_jsonpath(expr: str) -> Any:
    from jsonpath_ng.ext import parse  # type: ignore[attr-defined]  # imported on use: `import chaoskit` stays light

    try:
        return parse(expr)
    except Exception as exc:  # jsonpath-ng raises several unrelated types
        raise ValueError(f"invalid JSONPath {expr!r}: {exc}") from exc


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
