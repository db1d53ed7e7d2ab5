"""Secrets never appear in any output.

The rule: every value under an experiment's ``secrets:`` (after ``env`` resolution; a list or mapping
counts leaf by leaf) is a secret from the moment chaoskit loads that experiment until the process
ends. Everything chaoskit writes -- the terminal (stdout and stderr), revert ledgers, journals,
traces, HTML reports, Markdown summaries, ``--json``, JUnit properties and pytest failure text --
shows ``***`` instead of any value equal to a secret (of any type: a number too) and instead of
every occurrence of a secret's text inside longer text, whether written plainly, JSON-escaped,
HTML-escaped, URL-encoded or as Python ``repr``. Secrets that cannot be hidden that way are refused
as ``invalid``: booleans, and text shorter than :data:`MIN_LENGTH` characters (hiding every ``ab``
would mangle the output and still give the secret away). An empty or null secret hides nothing and
is allowed.

Outputs apply :func:`scrub` (structured data) or :func:`scrub_text` (rendered text) at the point
where they are written; when no secret is known both return their input untouched, at no cost.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from chaoskit.htmlescape import escape as html_escape

if TYPE_CHECKING:  # not imported at run time: `chaoskit --help` imports this module and stays light
    from pydantic import BaseModel

REDACTED = "***"
MIN_LENGTH = 6

_lock = threading.Lock()
_texts: tuple[str, ...] = ()
_numbers: frozenset[int | float] = frozenset()
_number_text: re.Pattern[str] | None = None


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def problem(value: Any) -> str | None:
    """Why ``value`` cannot be a secret (``None`` when it can); never quotes the value."""
    for leaf in _leaves(value):
        if isinstance(leaf, bool):
            return "a boolean cannot be kept secret (every true/false in the output would be one); use text"
        text = leaf if isinstance(leaf, str) else "" if leaf is None else str(leaf)
        if 0 < len(text) < MIN_LENGTH:
            return (
                f"the value is {len(text)} character{'s' * (len(text) != 1)} long; a secret needs at least "
                f"{MIN_LENGTH} to be redacted safely (or, if it is not secret, move it to configuration)"
            )
    return None


def _forms(text: str) -> set[str]:
    return {text, json.dumps(text)[1:-1], html_escape(text), quote(text, safe=""), quote_plus(text), repr(text)[1:-1]}


def register(secrets: Mapping[str, Any]) -> None:
    """Hide these secrets' values from every later output of this process."""
    global _texts, _numbers, _number_text
    texts: set[str] = set()
    numbers: set[int | float] = set()
    for leaf in _leaves(secrets):
        if leaf is None or isinstance(leaf, bool):
            continue
        if isinstance(leaf, int | float):
            numbers.add(leaf)
        else:
            texts |= _forms(str(leaf))
    texts = {t for t in texts if len(t) >= MIN_LENGTH}
    if not texts - set(_texts) and not numbers - _numbers:
        return
    with _lock:
        # longest first: a secret that contains another is replaced whole
        _texts = tuple(sorted(texts | set(_texts), key=len, reverse=True))
        _numbers = _numbers | numbers
        # a number's text only where it stands alone, not inside a longer number (a timestamp, an id)
        shown = sorted({t for n in _numbers for t in (str(n), repr(n))}, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, shown))
        _number_text = re.compile(rf"(?<![\d.])(?:{alternatives})(?!\d|\.\d)") if shown else None


def forget() -> None:
    """Forget every registered secret (for test suites that load many unrelated experiments in one process)."""
    global _texts, _numbers, _number_text
    with _lock:
        _texts, _numbers, _number_text = (), frozenset(), None


def active() -> bool:
    return bool(_texts) or _number_text is not None


def scrub_text(text: str) -> str:
    """``text`` with every secret's text replaced by ``***``."""
    for secret in _texts:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if _number_text is not None:
        text = _number_text.sub(REDACTED, text)
    return text


class ScrubbedStream:
    """A text stream (stdout/stderr) that hides secrets in everything written to it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub_text(text) if active() else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_streams() -> None:
    """Hide secrets in all that this process writes to ``sys.stdout`` and ``sys.stderr`` (the CLI's entry)."""
    import sys

    if not isinstance(sys.stdout, ScrubbedStream):
        sys.stdout = ScrubbedStream(sys.stdout)
    if not isinstance(sys.stderr, ScrubbedStream):
        sys.stderr = ScrubbedStream(sys.stderr)


def scrub(value: Any, numbers: bool = True) -> Any:
    """A copy of JSON-like ``value`` with secrets hidden: texts are scrubbed and values equal to a secret
    become ``***`` (numbers too, unless ``numbers`` is false: for data whose number fields are typed)."""
    if not active():
        return value
    return _scrub(value, numbers)


def _scrub(value: Any, numbers: bool) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return REDACTED if numbers and value in _numbers else value
    if isinstance(value, Mapping):
        return {_scrub(k, False) if isinstance(k, str) else k: _scrub(v, numbers) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, numbers) for v in value]
    if hasattr(type(value), "model_fields"):  # a pydantic model
        scrub_model(value)
        return value
    return scrub_text(str(value))


def scrub_model(model: BaseModel) -> None:
    """Hide secrets in a (mutable) pydantic model, in place: its text fields and free-form (dict/list/Any)
    values; enum fields and typed numbers keep their type."""
    if not active():
        return
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Enum | bool | int | float) or value is None:
            continue
        if hasattr(type(value), "model_fields"):
            scrub_model(value)
        elif isinstance(value, list) and value and all(hasattr(type(v), "model_fields") for v in value):
            for item in value:
                scrub_model(item)
        else:
            object.__setattr__(model, name, _scrub(value, True))
