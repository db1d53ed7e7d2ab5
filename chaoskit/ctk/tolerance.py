"""CTK's tolerance rules, case for case (``chaoslib.hypothesis.within_tolerance`` in CTK 1.21):

* ``true``/``false`` and strings: equality with the probe's output;
* an integer: equality, except that an output with a ``status`` (HTTP, process) compares its status;
* a list: an output with a ``status`` must have it in the list; otherwise a two-item list is an inclusive
  range ``[low, high]`` (whatever the items' type, as CTK compares them), and any other list is membership;
* ``{type: range, range: [low, high], target?}``: the number (or ``output[target]``) within the range;
* ``{type: regex, pattern, target?}``: ``re.search`` on the output (or ``output[target]``);
* ``{type: jsonpath, path, target?, expect?, count?}``: the values the path selects; with ``count`` their
  number must equal it; with ``expect`` they must equal ``[expect]`` (or ``expect`` when it is a list);
  otherwise at least one value. chaoskit uses jsonpath-ng where CTK uses jsonpath2: plain paths
  (``$.a.b``, ``$.items[*].name``, ``$[0]``) agree; filter syntax differs;
* ``{type: probe, ...}``: the probe is called with ``value=<output>`` added to its arguments; its result's
  truth is the verdict, and a probe that fails counts as not met.

Where CTK itself crashes on a tolerance (comparing a string with a number, a regex on a mapping), chaoskit
raises :class:`ToleranceError`, which fails the run (CTK's ``failed``) with the reason.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from chaoskit.ctk.providers import ActivityFailed
from chaoskit.ctk.values import Secrets, substitute
from chaoskit.model.tolerance import _compile_jsonpath

ProbeCall = Callable[[dict[str, Any]], Any]
"""Runs a tolerance probe (an activity mapping) and returns its output; raises ActivityFailed when it fails."""


class ToleranceError(Exception):
    """The tolerance cannot be evaluated against this output (where CTK would crash)."""


def within_tolerance(
    tolerance: Any, value: Any, configuration: Mapping[str, Any], secrets: Secrets, call_probe: ProbeCall
) -> bool:
    if isinstance(tolerance, str):
        tolerance = substitute(tolerance, configuration, secrets)
    try:
        return _within(tolerance, value, configuration, secrets, call_probe)
    except (TypeError, AttributeError, ValueError, KeyError) as exc:
        raise ToleranceError(f"tolerance {tolerance!r} cannot be checked against {_short(value)}: {exc}") from exc


def _within(tolerance: Any, value: Any, configuration: Mapping[str, Any], secrets: Secrets, call: ProbeCall) -> bool:
    if isinstance(tolerance, bool | str):
        return bool(value == tolerance)
    if isinstance(tolerance, int):
        if isinstance(value, dict) and "status" in value:
            return bool(value["status"] == tolerance)
        return bool(value == tolerance)
    if isinstance(tolerance, list):
        if isinstance(value, dict) and "status" in value:
            return value["status"] in tolerance
        if len(tolerance) == 2:
            return bool(tolerance[0] <= value <= tolerance[1])
        return value in tolerance
    if not isinstance(tolerance, dict):
        return False  # CTK has no rule for other types (a float tolerance is invalid anyway)
    kind = tolerance.get("type")
    if kind == "probe":
        probe = json.loads(json.dumps(tolerance))
        provider = probe.setdefault("provider", {})
        provider.setdefault("arguments", {})["value"] = value
        try:
            return bool(call(probe))
        except ActivityFailed:
            return False
    target = tolerance.get("target")
    if target:
        value = value.get(target, value)
    if kind == "regex":
        pattern = substitute(tolerance.get("pattern"), configuration, secrets)
        return re.compile(pattern).search(value) is not None
    if kind == "jsonpath":
        return _jsonpath(tolerance, value, configuration, secrets)
    if kind == "range":
        try:
            number = Decimal(value)
        except InvalidOperation:
            return False
        low, high = tolerance["range"]
        return Decimal(low) <= number <= Decimal(high)
    return False


def _jsonpath(tolerance: dict[str, Any], value: Any, configuration: Mapping[str, Any], secrets: Secrets) -> bool:
    path = substitute(tolerance.get("path"), configuration, secrets)
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
    values = [m.value for m in _compile_jsonpath(path).find(value)]
    result = len(values) > 0
    count = tolerance.get("count")
    if count is not None:
        result = len(values) == count
    if "expect" in tolerance:
        expect = substitute(tolerance["expect"], configuration, secrets)
        result = values == (expect if isinstance(expect, list) else [expect])
    return result


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
