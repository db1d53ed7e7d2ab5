"""The CTK experiment format (``version: 1.0.0``) as strict models: every key CTK defines is accepted,
anything else is an error with its path. Values stay as written (``${name}`` is substituted when an
activity runs, as CTK does)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, field_validator, model_validator

from chaoskit.model.base import StrictModel

Seconds = Annotated[float | str, Field(description="Seconds, or a ${name} reference.")]


class PythonProvider(StrictModel):
    type: Literal["python"]
    module: str = Field(min_length=1, description="The Python module, e.g. chaosk8s.pod.actions.")
    func: str = Field(min_length=1, description="The function in that module.")
    arguments: dict[str, Any] = Field(default={})
    secrets: list[str] | None = Field(default=None, description="Secret scopes passed as `secrets`.")


class ProcessProvider(StrictModel):
    type: Literal["process"]
    path: str = Field(min_length=1, description="The executable (looked up on PATH).")
    arguments: list[Any] | dict[str, Any] | str = Field(default=[])
    timeout: Seconds | None = None
    secrets: list[str] | None = None


class HttpProvider(StrictModel):
    type: Literal["http"]
    url: str = Field(min_length=1)
    method: str = "GET"
    headers: dict[str, Any] | None = None
    arguments: dict[str, Any] | list[Any] | str | None = None
    timeout: Seconds | list[float] | None = None
    verify_tls: bool = True
    max_retries: int = Field(default=0, ge=0)
    expected_status: int | list[int] | None = Field(
        default=None, description="Accepted for older CTK files; CTK 1.21 ignores it and so does chaoskit."
    )
    secrets: list[str] | None = None


Provider = Annotated[PythonProvider | ProcessProvider | HttpProvider, Field(discriminator="type")]


class Pauses(StrictModel):
    before: Seconds | None = None
    after: Seconds | None = None

    @field_validator("before", "after")
    @classmethod
    def _number_or_ref(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, str) and not (value.startswith("${") and value.endswith("}")):
            raise ValueError("a pause is a number of seconds or a ${name} reference")
        return value


class Activity(StrictModel):
    """A probe or an action, or ``{ref: name}`` pointing at an activity declared in the method or hypothesis."""

    type: Literal["probe", "action"] | None = None
    name: str | None = None
    provider: Provider | None = None
    ref: str | None = None
    tolerance: Any = None
    pauses: Pauses | None = None
    background: bool = False
    timeout: float | None = None
    controls: list[dict[str, Any]] | None = Field(default=None, description="Accepted; not run (see README).")

    @model_validator(mode="after")
    def _complete(self) -> Activity:
        if self.ref is not None:
            if not self.ref:
                raise ValueError("ref must name an activity")
            return self
        missing = [key for key in ("type", "name", "provider") if not getattr(self, key)]
        if missing:
            raise ValueError(f"an activity needs {', '.join(missing)} (or a ref to another activity)")
        if "tolerance" in self.model_fields_set:
            check_tolerance(self.tolerance)
        return self

    @property
    def label(self) -> str:
        return self.name or f"ref {self.ref}"


class RegexTolerance(StrictModel):
    type: Literal["regex"]
    pattern: str
    target: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        if "${" not in value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from None
        return value


class JsonPathTolerance(StrictModel):
    type: Literal["jsonpath"]
    path: str = Field(min_length=1)
    target: str | None = None
    expect: JsonValue = None
    count: int | None = None


class RangeTolerance(StrictModel):
    type: Literal["range"]
    range: list[float] = Field(min_length=2, max_length=2)
    target: str | None = None


def check_tolerance(tolerance: Any) -> None:
    """CTK's rules: a bool, an int, a string, a list, or a mapping of type probe/regex/jsonpath/range."""
    if isinstance(tolerance, float) or not isinstance(tolerance, bool | int | list | str | dict):
        raise ValueError(
            "a tolerance is a boolean, an integer, a string, a list, or a mapping "
            f"(type: probe, regex, jsonpath or range); got {type(tolerance).__name__} {tolerance!r}"
        )
    if not isinstance(tolerance, dict):
        return
    kind = tolerance.get("type")
    models: dict[str, type[StrictModel]] = {
        "regex": RegexTolerance,
        "jsonpath": JsonPathTolerance,
        "range": RangeTolerance,
        "probe": Activity,
    }
    if kind not in models:
        raise ValueError(f"tolerance type {kind!r} is not one of probe, regex, jsonpath, range")
    if kind == "jsonpath":
        from chaoskit.model.tolerance import _compile_jsonpath

        JsonPathTolerance.model_validate(tolerance)
        path = tolerance["path"]
        if "${" not in path:
            _compile_jsonpath(path)
        return
    models[kind].model_validate(tolerance)


class Hypothesis(StrictModel):
    title: str = Field(min_length=1)
    probes: list[Activity] = Field(default=[])
    controls: list[dict[str, Any]] | None = None

    @field_validator("probes")
    @classmethod
    def _tolerances(cls, probes: list[Activity]) -> list[Activity]:
        for i, probe in enumerate(probes):
            if "tolerance" not in probe.model_fields_set:
                raise ValueError(f"probes[{i}] ({probe.label}): a hypothesis probe needs a tolerance")
        return probes


class StrategyBlock(StrictModel):
    strategy: str


class Runtime(StrictModel):
    rollbacks: StrategyBlock | None = None
    hypothesis: StrategyBlock | None = None


ROLLBACK_STRATEGIES = ("default", "always", "never", "deviated")
HYPOTHESIS_STRATEGIES = (
    "default",
    "before-method-only",
    "after-method-only",
    "during-method-only",
    "continuously",
    "skip",
)


class CtkExperiment(StrictModel):
    """A Chaos Toolkit experiment."""

    version: str | float | None = Field(default=None, description="CTK's format version, e.g. 1.0.0.")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1, description="Required, as in CTK.")
    tags: list[Annotated[str, Field(min_length=1)]] = Field(default=[])
    contributions: dict[str, Any] | None = None
    configuration: dict[str, Any] = Field(default={})
    secrets: dict[str, dict[str, Any]] = Field(default={})
    extensions: list[dict[str, Any]] | None = None
    controls: list[dict[str, Any]] | None = Field(default=None, description="Accepted; not run (see README).")
    steady_state_hypothesis: Hypothesis | None = Field(default=None, alias="steady-state-hypothesis")
    method: list[Activity]
    rollbacks: list[Activity] = Field(default=[])
    runtime: Runtime | None = None

    @field_validator("configuration")
    @classmethod
    def _configuration(cls, values: dict[str, Any]) -> dict[str, Any]:
        for name, value in values.items():
            if isinstance(value, dict) and "type" in value:
                if value["type"] == "env":
                    if not isinstance(value.get("key"), str) or not value["key"]:
                        raise ValueError(f"{name}: an env value needs 'key', the environment variable")
                    extra = set(value) - {"type", "key", "default", "env_var_type"}
                    if extra:
                        raise ValueError(f"{name}: unknown keys {sorted(extra)} in an env value")
                elif value["type"] == "probe":
                    Activity.model_validate(value)
        return values

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, scopes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for scope, values in scopes.items():
            for name, value in values.items():
                if isinstance(value, dict) and value.get("type") == "vault":
                    raise ValueError(f"{scope}.{name}: vault secrets are not supported; use type: env")
                is_env = isinstance(value, dict) and value.get("type") == "env"
                if is_env and (not isinstance(value.get("key"), str) or set(value) - {"type", "key"}):
                    raise ValueError(f"{scope}.{name}: an env secret is {{type: env, key: NAME}}")
        return scopes

    @model_validator(mode="after")
    def _refs(self) -> CtkExperiment:
        known = self.activities_by_name()
        for where, items in (("method", self.method), ("rollbacks", self.rollbacks)):
            for i, activity in enumerate(items):
                if activity.ref is not None and activity.ref not in known:
                    raise ValueError(
                        f"{where}[{i}]: ref {activity.ref!r} names no activity of the method or hypothesis "
                        f"(known: {', '.join(sorted(known)) or 'none'})"
                    )
        return self

    def activities_by_name(self) -> dict[str, Activity]:
        """What ``ref`` can point at: method activities, then hypothesis probes (a probe wins a name clash),
        as CTK's activity cache."""
        found = {a.name: a for a in self.method if a.name and a.ref is None}
        if self.steady_state_hypothesis:
            found.update({p.name: p for p in self.steady_state_hypothesis.probes if p.name and p.ref is None})
        return found

    def strategies(self) -> tuple[str, str]:
        """(rollback strategy, hypothesis strategy) declared by ``runtime``, else defaults."""
        rt = self.runtime
        rollbacks = rt.rollbacks.strategy if rt and rt.rollbacks else "default"
        hypothesis = rt.hypothesis.strategy if rt and rt.hypothesis else "default"
        return rollbacks, hypothesis
