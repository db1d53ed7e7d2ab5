"""Load an experiment file and validate it in two phases, reporting every problem at once.

Phase one is the core model; phase two is each plugin's own ``Params`` model for its ``with:``
block (and each plugin-owned top-level section, and the load driver). Both phases run on the
same document, so a file with a core error and a plugin error reports both, each with its path
(``method[1].with.latency_ms``) and file line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from chaoskit.config import resolve_document
from chaoskit.document import MAX_BYTES, LineMap, check_limits, decode, format_path, line_of, parse_text
from chaoskit.errors import ChaosKitError, Problem, ValidationFailed
from chaoskit.hints import bare_checks, did_you_mean, keys_at
from chaoskit.model.experiment import Experiment
from chaoskit.record import field, record
from chaoskit.registry import Kind, Registry, default_registry

__all__ = [
    "LineMap",
    "Loaded",
    "format_path",
    "line_of",
    "load_experiment",
    "loc_of",
    "parse_text",
    "problems_from",
    "read_document",
    "validate_document",
]


@record
class Loaded:
    """A validated experiment, with each plugin's parsed params keyed by the step's path."""

    experiment: Experiment
    redacted: dict[str, Any]
    configuration: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    params: dict[str, BaseModel] = field(default_factory=dict)
    sections: dict[str, BaseModel] = field(default_factory=dict)
    load_params: BaseModel | None = None
    source: str | None = None
    lines: LineMap = field(default_factory=dict)
    """File line of each path (for problems found after validation, e.g. by preflight)."""

    def shown_params(self, path: str) -> dict[str, Any]:
        """The ``with:`` block at ``path`` as journals may show it: secrets redacted."""
        node: Any = self.redacted
        for part in loc_of(path):
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return {}
        block = node.get("with") if isinstance(node, dict) else None
        return dict(block) if isinstance(block, dict) else {}


def read_document(path: Path) -> tuple[Any, LineMap]:
    """Parse a YAML or JSON file with line numbers, within the limits of :mod:`chaoskit.document`."""
    source = str(path)
    try:
        if not path.is_file():
            what = "no such file" if not path.exists() else "not a regular file"
            raise ValidationFailed([Problem("", f"{what}: {path}")], source)
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ValidationFailed([Problem("", f"cannot read {path}: {exc.strerror or exc}")], source) from None
    return parse_text(decode(raw, source), source)


def problems_from(
    exc: ValidationError,
    prefix: tuple[Any, ...],
    lines: LineMap,
    source: str | None,
    model: type[BaseModel] | None = None,
) -> list[Problem]:
    """Every pydantic error as a :class:`Problem`; an unknown key of ``model`` gets a "did you mean"."""
    out = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            known = keys_at(model, tuple(err["loc"][:-1])) if model is not None else []
            msg = "unknown key" + did_you_mean(err["loc"][-1], known)
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if kind.endswith(("_type", "_parsing")) or kind in _BOUNDS:
                msg += f" (got {_short(err.get('input'))})"
        out.append(Problem(format_path(loc), msg, line_of(lines, loc), source))
    return out


# pydantic's bound and choice errors ("Input should be less than or equal to 1") do not say what was written.
_BOUNDS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of", "literal_error", "enum"}
)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def load_experiment(
    path: Path | str,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> Loaded:
    path = Path(path)
    data, lines = read_document(path)
    return validate_document(data, lines, str(path), overrides, env, registry)


def validate_document(
    data: Any,
    lines: LineMap | None = None,
    source: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> Loaded:
    """Validate a parsed document (a dict). Raises :class:`ValidationFailed` listing every problem."""
    if not lines:  # data from parse_text (it comes with lines) is already within the limits
        check_limits(data, {}, source)
    lines = lines or {}
    registry = registry or default_registry()
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ValidationFailed(
            [Problem("", f"an experiment is a mapping (title, method, ...), got {got}", 1, source)], source
        )
    res = resolve_document(data, overrides, env)
    resolved = _labels_redacted(res.document, res.redacted) if res.secrets else res.document
    problems = [Problem(p.path, p.message, line_of(lines, loc_of(p.path)), source) for p in res.problems]

    core_fields = {f.alias or name for name, f in Experiment.model_fields.items()} - {"sections"}
    sections = {k: v for k, v in resolved.items() if k not in core_fields and k in registry.entries("section")}
    core = {k: v for k, v in resolved.items() if k not in sections}
    experiment: Experiment | None = None
    try:
        experiment = Experiment.model_validate({**core, "sections": sections})
    except ValidationError as exc:
        for p in problems_from(exc, (), lines, source, Experiment):
            if p.message.startswith("unknown key") and "." not in p.path and "[" not in p.path:
                hint = did_you_mean(p.path, core_fields | set(registry.entries("section")))
                p = Problem(p.path, f"unknown key{hint}", p.line, source)
            problems.append(p)

    loaded = Loaded(
        experiment,  # type: ignore[arg-type]
        res.redacted,
        res.configuration,
        res.secrets,
        source=source,
        lines=lines,
    )
    _validate_plugins(resolved, sections, loaded, lines, source, registry, problems)
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.path))
        raise ValidationFailed(problems, source)
    assert experiment is not None
    return loaded


_LABELS = ("title", "description", "tags")
_STEP_LISTS = (("steady_state", "probes"), ("safety", "abort_when"), ("method",), ("rollbacks",))


def _labels_redacted(resolved: dict[str, Any], redacted: dict[str, Any]) -> dict[str, Any]:
    """The resolved document with its labels (title, description, tags, step names) taken from the redacted
    copy: a label is only ever shown (progress, ledger, journal, trace, report), so a secret has no business there."""
    out = {**resolved, **{k: redacted[k] for k in _LABELS if k in redacted}}
    for where in _STEP_LISTS:
        steps: Any = out
        shown: Any = redacted
        for key in where[:-1]:
            steps = steps.get(key) if isinstance(steps, dict) else None
            shown = shown.get(key) if isinstance(shown, dict) else None
        if not isinstance(steps, dict) or not isinstance(shown, dict):
            continue
        items, shown_items = steps.get(where[-1]), shown.get(where[-1])
        if not isinstance(items, list) or not isinstance(shown_items, list):
            continue
        copied = [
            {**item, "name": shown_item["name"]}
            if isinstance(item, dict) and isinstance(shown_item, dict) and "name" in item and "name" in shown_item
            else item
            for item, shown_item in zip(items, shown_items, strict=False)
        ]
        if len(where) == 1:
            out[where[0]] = copied
        else:
            parent = dict(out[where[0]])
            parent[where[-1]] = copied
            out[where[0]] = parent
    return out


def loc_of(path: str) -> tuple[Any, ...]:
    out: list[Any] = []
    for part in path.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        elif part:
            out.append(part)
    return tuple(out)


_KEYS: tuple[tuple[str, Kind], ...] = (("probe", "probe"), ("fault", "fault"), ("action", "action"))


def _validate_plugins(
    doc: dict[str, Any],
    sections: dict[str, Any],
    loaded: Loaded,
    lines: LineMap,
    source: str | None,
    registry: Registry,
    problems: list[Problem],
) -> None:
    """Phase two, on the raw document so it runs even where phase one failed."""

    def check(loc: tuple[Any, ...], kind: Kind, name: Any, params: Any, name_key: str, expect: Any = None) -> None:
        if not isinstance(name, str):
            return  # phase one reports it
        try:
            cls = registry.load(kind, name)
        except ChaosKitError as exc:
            problems.append(Problem(format_path((*loc, name_key)), str(exc), line_of(lines, (*loc, name_key)), source))
            return
        hint = getattr(cls, "tolerance_hint", None) if kind == "probe" else None
        bare = bare_checks(expect) if hint else []
        if bare:
            where = (*loc, "expect")
            what = ", ".join(bare)
            message = f"{what} without a target: {hint}"
            problems.append(Problem(format_path(where), message, line_of(lines, where), source))
        model: type[BaseModel] = cls.Params if kind != "section" else cls
        try:
            loaded.params[format_path(loc)] = model.model_validate(params if params is not None else {})
        except ValidationError as exc:
            problems.extend(problems_from(exc, loc + (("with",) if kind != "section" else ()), lines, source, model))

    def steps(key: str, items: Any, *path: Any) -> None:
        if not isinstance(items, list):
            return
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            for name_key, kind in _KEYS:
                if name_key in item:
                    check((*path, key, i), kind, item[name_key], item.get("with"), name_key, item.get("expect"))

    steady = doc.get("steady_state")
    if isinstance(steady, dict):
        steps("probes", steady.get("probes"), "steady_state")
    safety = doc.get("safety")
    if isinstance(safety, dict):
        steps("abort_when", safety.get("abort_when"), "safety")
    steps("method", doc.get("method"))
    steps("rollbacks", doc.get("rollbacks"))
    for name, block in sections.items():
        cls = registry.load("section", name)
        try:
            loaded.sections[name] = cls.model_validate(block if block is not None else {})
        except ValidationError as exc:
            problems.extend(problems_from(exc, (name,), lines, source, cls))
    load = doc.get("load")
    if isinstance(load, dict):
        driver = load.get("driver", "locust")
        params = {k: v for k, v in load.items() if k != "driver"}
        if isinstance(driver, str):
            try:
                cls = registry.load("load", driver)
            except ChaosKitError as exc:
                problems.append(Problem("load.driver", str(exc), line_of(lines, ("load", "driver")), source))
            else:
                try:
                    loaded.load_params = cls.Params.model_validate(params)
                except ValidationError as exc:
                    problems.extend(problems_from(exc, ("load",), lines, source, cls.Params))
