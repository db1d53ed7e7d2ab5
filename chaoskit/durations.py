"""Durations written the way people write them: ``250ms``, ``30s``, ``2m``, ``1h30m``, or a number of seconds."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d{1,15}(?:\.\d{1,9})?)(ms|s|m|h)")
_SECONDS = re.compile(r"\d{1,15}(?:\.\d{1,9})?")
MAX_DURATION = 7 * 24 * 3600.0
"""The longest duration chaoskit accepts anywhere: 7 days (``168h``). Longer is always a mistake here."""
_HINT = "use a number and a unit (ms, s, m, h), e.g. '250ms' or '1m30s'"


def parse_duration(value: Any) -> float:
    """Return seconds: finite, 0 <= seconds <= :data:`MAX_DURATION`. Accepts a non-negative number
    (seconds) or a string such as ``1m30s``, ``250ms`` or ``1.5`` (no exponents, no ``nan``/``inf``)."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '30s', not a boolean")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"a duration must be a finite number of seconds, not {value!r}")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return _bounded(value, value)
    if not isinstance(value, str):
        raise ValueError(f"a duration must be a number or a string like '30s', got {type(value).__name__}")
    text = value.strip().replace(" ", "")
    if not text:
        raise ValueError("empty duration")
    if text.startswith("-"):
        raise ValueError("a duration cannot be negative")
    if len(text) > 40:
        raise ValueError(f"invalid duration {value[:40]!r}...: too long; {_HINT}")
    if _SECONDS.fullmatch(text):
        return _bounded(float(text), value)
    pos = 0
    total = 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"invalid duration {value!r}: {_HINT}")
    return _bounded(total, value)


def _bounded(seconds: float | int, written: Any) -> float:
    if seconds > MAX_DURATION:
        shown = (
            repr(written[:40]) if isinstance(written, str) else "a huge number" if seconds > 1e300 else f"{written:.3g}"
        )
        raise ValueError(f"a duration is at most 7 days (168h), got {shown}")
    return float(seconds)


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if rest else f"{int(minutes)}m"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda s: s, return_type=float, when_used="json"),
]
"""A pydantic field type: written as ``'30s'``, stored as seconds (float)."""
