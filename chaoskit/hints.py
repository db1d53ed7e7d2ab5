"""Hints for invalid documents: "did you mean" for unknown keys at every level (core keys, plugin parameters,
sections), Chaos Toolkit forms written inside a native file, and tolerances that do not say what they check."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

_BARE_CHECKS = ("equals", "min", "max", "one_of", "regex")


def did_you_mean(key: Any, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known name, or ``""``."""
    if not isinstance(key, str):
        return ""
    import difflib  # only when there is a problem to explain

    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a mapping at ``loc`` (inside ``model``) may hold: the field names and aliases of the model found
    there, or [] when ``loc`` leads to something else (a free-form dict, a value)."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (a union of one model and None)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return annotation


def _step(current: Any, part: Any) -> Any:
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        for name, field in current.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin, args = typing.get_origin(current), typing.get_args(current)
    if origin is list and isinstance(part, int) and args:
        return args[0]
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return args[1]
    return None


def ctk_value(value: Any) -> str | None:
    """When a configuration/secrets value is written the Chaos Toolkit way, the chaoskit way to write it."""
    if isinstance(value, dict) and value.get("type") == "env" and "key" in value:
        native = f"{{env: {value['key']}" + (f", default: {value['default']!r}" if "default" in value else "") + "}"
        return f"this is Chaos Toolkit's form {{type: env, key: ...}}; in chaoskit write {native}"
    if isinstance(value, dict) and "type" in value and set(value) <= {"type", "key", "default", "path", "value"}:
        return f"{{type: {value['type']}, ...}} is a Chaos Toolkit form; chaoskit takes a literal or {{env: NAME}}"
    return None


def ctk_problems(section: str, raw: Any) -> list[tuple[str, str]]:
    """(path, message) for every Chaos Toolkit-shaped value in ``configuration`` or ``secrets`` (CTK nests secrets
    one level: ``secrets: {scope: {name: {type: env, key: X}}}``)."""
    out: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        return out
    for name, value in raw.items():
        hint = ctk_value(value)
        if hint is not None:
            out.append((f"{section}.{name}", hint))
        elif isinstance(value, dict) and "env" not in value:
            out.extend((f"{section}.{name}.{k}", h) for k, v in value.items() if (h := ctk_value(v)) is not None)
    return out


def bare_checks(expect: Any) -> list[str]:
    """The checks in ``expect`` that apply to the probe's bare value (no jsonpath selects another)."""
    if not isinstance(expect, dict) or "jsonpath" in expect:
        return []
    return [k for k in _BARE_CHECKS if k in expect]
