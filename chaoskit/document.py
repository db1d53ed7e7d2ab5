"""Reading an experiment document: one parse, file lines, duplicate keys, and hard limits.

The text is parsed once, from the YAML event stream (PyYAML's C parser when it is installed,
else the pure-Python one), into plain data plus a map from each path to its file line. Nothing
here recurses, so no input can exhaust the stack, and every input that could cost unbounded time
or memory stops with a problem instead:

=====================  ==================================================================
file size              at most ``MAX_BYTES`` (1 MiB), UTF-8
nesting depth          at most ``MAX_DEPTH`` (64) mappings/lists inside each other
values                 at most ``MAX_NODES`` (100,000) after expanding aliases
text                   at most ``MAX_TEXT`` (8 MiB) of strings after expanding aliases
list length            at most ``MAX_ITEMS`` (10,000) items in one list
numbers                finite; integers within +/- 2**53 (what JSON keeps exactly)
aliases                must name an anchor defined before them and not contain themselves
tags                   only the plain JSON-like types (no ``!!python/...``, ``!!binary``, ``!custom``)
=====================  ==================================================================

:func:`check_limits` applies the same limits to data that did not come from a file (a dict given
to the pytest fixture), so every path into validation is bounded.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from chaoskit.errors import Problem, ValidationFailed

MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000
MAX_TEXT = 8 << 20
MAX_ITEMS = 10_000
MAX_INT = 2**53

LineMap = dict[tuple[Any, ...], int]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_KEY_SHAPE = "a mapping key must be a plain value (text or number), not a mapping or list"
_PLAIN = "only plain mappings, lists, text and numbers"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _Stop(Exception):
    """A limit was hit: parsing stops at the first such problem (the rest could be unbounded)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def decode(raw: bytes, source: str | None) -> str:
    """UTF-8 text of a file's bytes, or a problem naming the line of the first bad byte."""
    if len(raw) > MAX_BYTES:
        raise ValidationFailed(
            [Problem("", f"the file is {len(raw):,} bytes; the limit is {MAX_BYTES:,} (1 MiB)", None, source)], source
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start : exc.start + 1].hex()
        problem = Problem("", f"not UTF-8 text: byte 0x{byte} at offset {exc.start}", line, source)
        raise ValidationFailed([problem], source) from None


class _Frame:
    """A mapping or list being built, with where it sits."""

    __slots__ = ("anchor", "has_key", "key", "line", "merges", "path", "seen", "value")

    def __init__(self, path: tuple[Any, ...], value: dict[Any, Any] | list[Any], anchor: str | None, line: int) -> None:
        self.path = path
        self.value = value
        self.key: Any = None
        self.has_key = False
        self.seen: set[Any] = set()
        self.anchor = anchor
        self.merges: list[dict[Any, Any]] = []
        self.line = line


def parse_text(text: str, source: str | None = None) -> tuple[Any, LineMap]:
    """Parse YAML (or JSON) text into data and a path -> line map. Raises :class:`ValidationFailed`."""
    if len(text) > MAX_BYTES:
        raise ValidationFailed([Problem("", f"the text is longer than the limit of {MAX_BYTES:,} characters")], source)
    lines: LineMap = {}
    problems: list[Problem] = []
    loader = _Loader(text)
    try:
        data, aliased = _build(loader, lines, problems, source)
    except _Stop as stop:
        raise ValidationFailed([stop.problem], source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed([Problem("", f"not valid YAML/JSON: {what}", line, source)], source) from None
    finally:
        loader.dispose()
    if problems:
        raise ValidationFailed(problems, source)
    if aliased:  # the parse bounded depth, list length and size; aliases can still multiply what a walk sees
        check_limits(data, lines, source)
    return data, lines


def _build(loader: Any, lines: LineMap, problems: list[Problem], source: str | None) -> tuple[Any, bool]:
    anchors: dict[str, Any] = {}  # also tells the caller whether aliases were used (then sizes need a walk)
    open_anchors: set[str] = set()
    stack: list[_Frame] = []
    result: Any = None
    documents = 0
    aliased = False

    def stop(path: tuple[Any, ...], message: str, line: int | None) -> _Stop:
        return _Stop(Problem(format_path(path), message, line, source))

    def child_path() -> tuple[Any, ...]:
        top = stack[-1]
        return (*top.path, len(top.value)) if isinstance(top.value, list) else (*top.path, top.key)

    def add(value: Any, line: int) -> None:
        nonlocal result
        if not stack:
            result = value
            return
        top = stack[-1]
        if isinstance(top.value, list):
            if len(top.value) >= MAX_ITEMS:
                raise stop(top.path, f"a list holds at most {MAX_ITEMS:,} items", line)
            top.value.append(value)
            return
        if not top.has_key:
            if isinstance(value, dict | list):
                raise stop(top.path, _KEY_SHAPE, line)
            top.key, top.has_key = value, True
            lines[(*top.path, value)] = line
            return
        key = top.key
        top.has_key = False
        if isinstance(key, _MergeKey):
            merged = value if isinstance(value, list) else [value]
            if not all(isinstance(m, dict) for m in merged):
                merge_shape = "'<<' merges a mapping (or a list of them)"
                problems.append(Problem(format_path(top.path), merge_shape, line, source))
            else:
                top.merges.extend(merged)
            return
        if key in top.seen:
            where = (*top.path, key)
            problems.append(Problem(format_path(where), "duplicate key", lines.get(where), source))
        top.seen.add(key)
        top.value[key] = value

    while loader.check_event():
        event = loader.get_event()
        line = event.start_mark.line + 1
        kind = type(event)
        if kind is yaml.ScalarEvent:
            if event.anchor is not None and event.anchor in open_anchors:
                raise stop(child_path() if stack else (), f"anchor &{event.anchor} is defined twice", line)
            is_key = bool(stack) and isinstance(stack[-1].value, dict) and not stack[-1].has_key
            path = stack[-1].path if is_key else child_path() if stack else ()
            value = _scalar(loader, event, path, line, source, is_key, problems)
            if event.anchor is not None:
                anchors[event.anchor] = value
            if not is_key:
                lines[path] = line
            add(value, line)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            path = child_path() if stack else ()
            if stack and isinstance(stack[-1].value, dict) and not stack[-1].has_key:
                raise stop(stack[-1].path, _KEY_SHAPE, line)
            if len(stack) >= MAX_DEPTH:
                raise stop(path, f"nested deeper than {MAX_DEPTH} levels", line)
            is_map = kind is yaml.MappingStartEvent
            tag = event.tag
            if tag is not None and tag not in (_MAP_TAG if is_map else _SEQ_TAG, "!"):
                raise stop(path, f"unsupported tag {tag!r}: {_PLAIN}", line)
            if event.anchor is not None:
                if event.anchor in open_anchors:
                    raise stop(path, f"anchor &{event.anchor} is defined inside itself", line)
                open_anchors.add(event.anchor)
            lines[path] = line
            stack.append(_Frame(path, {} if is_map else [], event.anchor, line))
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            frame = stack.pop()
            value = frame.value
            if isinstance(value, dict) and frame.merges:
                for merged in reversed(frame.merges):
                    for k, v in merged.items():
                        value.setdefault(k, v)
            if frame.anchor is not None:
                open_anchors.discard(frame.anchor)
                anchors[frame.anchor] = value
            add(value, frame.line)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise stop((), "a file holds one experiment; found a second YAML document ('---')", line)
        elif kind is yaml.AliasEvent:
            path = child_path() if stack else ()
            name = event.anchor
            if name in open_anchors:
                raise stop(path, f"alias *{name} refers to a value that contains it (a recursive alias)", line)
            if name not in anchors:
                raise stop(path, f"alias *{name} has no anchor &{name} before it", line)
            if not (stack and isinstance(stack[-1].value, dict) and not stack[-1].has_key):
                lines[path] = line
            aliased = True
            add(anchors[name], line)
    return result, aliased


class _MergeKey(str):
    """The ``<<`` merge key (a str subclass so it hashes, but never equal to a real key by identity check)."""


_FIRST_CHARS = frozenset(k for k in _Loader.yaml_implicit_resolvers if k)  # a plain scalar not starting so is text
_SMALL_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,14})")  # at most 15 digits: always within +/- 2**53


def _scalar(
    loader: Any, event: Any, path: tuple[Any, ...], line: int, source: str | None, is_key: bool, problems: list[Problem]
) -> Any:
    value: str = event.value
    tag = event.tag
    if tag is None:  # the common cases first: this runs for every scalar of the file
        if not event.implicit[0] or (value and value[0] not in _FIRST_CHARS):
            return value
        if _SMALL_INT.fullmatch(value):
            return int(value)
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, value, event.implicit)
    if tag == _MERGE and is_key:
        return _MergeKey(value)
    if tag == _TIMESTAMP:
        return value  # dates stay text: an experiment is JSON-shaped
    if tag not in _PLAIN_TAGS:
        raise _Stop(Problem(format_path(path), f"unsupported tag {tag!r}: {_PLAIN}", line, source))
    if tag == "tag:yaml.org,2002:int" and len(value.lstrip("+-0").replace("_", "")) > 20:
        too_large = f"the number {value[:20]}... is too large (limit +/- 2**53)"
        raise _Stop(Problem(format_path(path), too_large, line, source))
    node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
    try:
        result = loader.yaml_constructors[tag](loader, node)
    except (yaml.YAMLError, ValueError) as exc:
        raise _Stop(Problem(format_path(path), f"cannot read {value[:40]!r}: {exc}", line, source)) from None
    why = number_problem(result)
    if why is not None:
        problems.append(Problem(format_path(path), f"{_show(result)} {why}", line, source))
    return result


def number_problem(value: Any) -> str | None:
    """Why a number is out of bounds (``None`` when it is fine)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        return "is too large: integers are limited to +/- 2**53 (9,007,199,254,740,992)"
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number; numbers must be finite"
    return None


def check_limits(data: Any, lines: LineMap | None = None, source: str | None = None) -> None:
    """Walk ``data`` (without recursion, aliases counted every time they appear) and stop at the first limit hit."""
    lines = lines or {}
    nodes = 0
    text = 0
    problems: list[Problem] = []
    todo: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while todo:
        value, path = todo.pop()
        nodes += 1
        if nodes > MAX_NODES:
            _fail(path, f"more than {MAX_NODES:,} values (after expanding aliases)", lines, source)
        if len(path) > MAX_DEPTH:
            _fail(path, f"nested deeper than {MAX_DEPTH} levels", lines, source)
        if isinstance(value, str):
            text += len(value)
            if text > MAX_TEXT:
                _fail(path, f"more than {MAX_TEXT >> 20} MiB of text (after expanding aliases)", lines, source)
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str):
                    text += len(k)
                todo.append((v, (*path, k)))
        elif isinstance(value, list | tuple):
            if len(value) > MAX_ITEMS:
                _fail(path, f"a list holds at most {MAX_ITEMS:,} items (this one has {len(value):,})", lines, source)
            todo.extend((v, (*path, i)) for i, v in enumerate(value))
        else:
            why = number_problem(value)
            if why is not None and len(problems) < 100:
                problems.append(Problem(format_path(path), f"{_show(value)} {why}", line_of(lines, path), source))
    if problems:
        raise ValidationFailed(problems, source)


def _show(value: Any) -> str:
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        return f"an integer of {len(str(value)) if value.bit_length() < 10_000 else 'thousands of'} digits"
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} digits)"


def _fail(path: tuple[Any, ...], message: str, lines: LineMap, source: str | None) -> None:
    raise ValidationFailed([Problem(format_path(path), message, line_of(lines, path), source)], source)


def format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(lines: LineMap, loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None
