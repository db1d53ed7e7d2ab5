"""Abort conditions in words.

A ``safety.abort_when`` probe's ``expect`` is a condition that STOPS the run when it matches, the opposite of
a steady-state tolerance. So its observations get their own words everywhere (terminal, journal, report,
trace, pytest): ``not triggered: load.error_rate = 0.02 (triggers at ≥ 0.9)`` and
``TRIGGERED: load.error_rate = 0.909 ≥ 0.9``. In the journal such an observation has ``triggered`` set, and
its ``ok`` means "safe" (not triggered), so nothing shows a passing run's safety checks as failures.
"""

from __future__ import annotations

from typing import Any

from chaoskit.model.tolerance import Check, Expect, Observation


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{round(value, 3):g}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    return repr(value) if not isinstance(value, int | bool) else str(value)


def _check(check: Check) -> str:
    parts = []
    if check.min is not None and check.max is not None:
        parts.append(f"in [{check.min:g}, {check.max:g}]")
    elif check.min is not None:
        parts.append(f"≥ {check.min:g}")
    elif check.max is not None:
        parts.append(f"≤ {check.max:g}")
    if "equals" in check.model_fields_set:
        parts.append(f"= {_value(check.equals)}")
    if check.one_of is not None:
        parts.append(f"in {check.one_of!r}")
    if check.regex is not None:
        parts.append(f"matches /{check.regex}/")
    return " and ".join(parts)


def terms(expect: Expect, label: str, obs: Observation | None) -> list[tuple[str, str, str]]:
    """(what, observed value, condition) for each part of the condition."""

    def seen(key: str, default: Any = None) -> str:
        if obs is None:
            return "?"
        return _value(obs.details.get(key, default))

    out = []
    if expect.status is not None:
        out.append(("status", seen("status", obs.value if obs else None), f"in {expect.status}"))
    if expect.latency_ms is not None:
        out.append(("latency_ms", seen("latency_ms"), _check(expect.latency_ms)))
    if _check(expect):
        value = "?" if obs is None else _value(obs.value)
        if expect.jsonpath is not None and obs is not None:
            value = "(the value at the JSONPath)"
        out.append((expect.jsonpath or label, value, _check(expect)))
    return out


def describe(expect: Expect, label: str, obs: Observation | None, triggered: bool, error: str | None = None) -> str:
    """The reason line of one abort-condition check."""
    parts = terms(expect, label, obs)
    if triggered:
        return "TRIGGERED: " + " and ".join(f"{what} = {value} {cond}" for what, value, cond in parts)
    condition = " and ".join(f"{what} {cond}" for what, _, cond in parts)
    if error is not None:
        return f"not triggered (the probe failed: {error}); triggers at {condition}"
    seen = ", ".join(f"{what} = {value}" for what, value, _ in parts)
    return f"not triggered: {seen} (triggers at {condition})"
