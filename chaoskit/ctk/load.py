"""Load and validate a CTK experiment: the model first, then what CTK checks before a run (Python functions
importable with matching arguments, process paths on PATH, strategies spelled right, configuration and
secrets resolvable). Every problem is reported at once, with its path and file line."""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chaoskit import redaction
from chaoskit.ctk.model import (
    HYPOTHESIS_STRATEGIES,
    ROLLBACK_STRATEGIES,
    Activity,
    CtkExperiment,
    HttpProvider,
    ProcessProvider,
    PythonProvider,
)
from chaoskit.ctk.values import Secrets, load_configuration, load_secrets, read_var_files
from chaoskit.errors import Problem, ValidationFailed
from chaoskit.loader import LineMap, format_path, line_of, problems_from, read_document


@dataclass
class LoadedCtk:
    experiment: CtkExperiment
    document: dict[str, Any]
    """The file as written (CTK journals embed it)."""
    configuration: dict[str, Any] = field(default_factory=dict)
    secrets: Secrets = field(default_factory=dict)
    source: str | None = None
    work_dir: Path = field(default_factory=Path.cwd)
    notes: list[str] = field(default_factory=list)
    """What chaoskit accepts but does not act on (controls, ...), to tell the user."""


def load_ctk(
    path: Path,
    variables: Mapping[str, Any] | None = None,
    var_files: list[Path] | tuple[Path, ...] = (),
    env: MutableMapping[str, str] | None = None,
) -> LoadedCtk:
    data, lines = read_document(path)
    return validate_ctk(data, lines, str(path), variables, var_files, env, path.resolve().parent)


def validate_ctk(
    data: Any,
    lines: LineMap | None = None,
    source: str | None = None,
    variables: Mapping[str, Any] | None = None,
    var_files: list[Path] | tuple[Path, ...] = (),
    env: MutableMapping[str, str] | None = None,
    work_dir: Path | None = None,
) -> LoadedCtk:
    lines = lines or {}
    env = os.environ if env is None else env
    work_dir = work_dir or Path.cwd()
    if not isinstance(data, dict):
        raise ValidationFailed([Problem("", "a CTK experiment is a mapping (title, method, ...)", 1, source)], source)
    problems: list[Problem] = []
    try:
        experiment = CtkExperiment.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(_sorted(problems_from(exc, (), lines, source)), source) from None

    file_config, file_secrets = read_var_files(var_files, env)
    overrides = {**file_config, **dict(variables or {})}
    unknown = sorted(set(variables or {}) - set(experiment.configuration))
    for name in unknown:
        defined = ", ".join(sorted(experiment.configuration)) or "none"
        problems.append(Problem("configuration", f"--var {name}: no such configuration value (defined: {defined})"))
    configuration, config_problems = load_configuration(experiment.configuration, overrides, env)
    secrets, secret_problems = load_secrets(experiment.secrets, file_secrets, env)
    problems += config_problems + secret_problems
    for scope, values in secrets.items():
        for name, value in values.items():
            why = redaction.problem(value)
            if why is not None:
                problems.append(Problem(f"secrets.{scope}.{name}", why))
            else:
                redaction.register({f"{scope}.{name}": value})  # hidden from every output from now on

    rollback, hypothesis = experiment.strategies()
    if rollback not in ROLLBACK_STRATEGIES:
        problems.append(
            Problem("runtime.rollbacks.strategy", f"{rollback!r} is not one of {', '.join(ROLLBACK_STRATEGIES)}")
        )
    if hypothesis.replace("continously", "continuously") not in HYPOTHESIS_STRATEGIES:
        problems.append(
            Problem("runtime.hypothesis.strategy", f"{hypothesis!r} is not one of {', '.join(HYPOTHESIS_STRATEGIES)}")
        )
    for loc, activity in _activities(experiment):
        problems += _check_provider(loc, activity, work_dir)
    if problems:
        fixed = [Problem(p.path, p.message, p.line or line_of(lines, _loc(p.path)), source) for p in problems]
        raise ValidationFailed(_sorted(fixed), source)
    return LoadedCtk(experiment, data, configuration, secrets, source, work_dir, _notes(experiment))


def _notes(exp: CtkExperiment) -> list[str]:
    activities = [a for _, a in _activities(exp)]
    notes = []
    if (
        exp.controls
        or any(a.controls for a in activities)
        or (exp.steady_state_hypothesis is not None and exp.steady_state_hypothesis.controls)
    ):
        notes.append("controls are accepted but not run (chaoskit's hooks play that role)")
    if exp.extensions:
        notes.append("the extensions block is kept in the journal and otherwise ignored, as CTK does")
    if any(isinstance(a.provider, HttpProvider) and a.provider.expected_status is not None for a in activities):
        notes.append("expected_status is ignored, as CTK 1.21 ignores it (a 4xx/5xx answer is a result)")
    return notes


def _activities(exp: CtkExperiment) -> list[tuple[tuple[Any, ...], Activity]]:
    found: list[tuple[tuple[Any, ...], Activity]] = []
    if exp.steady_state_hypothesis:
        for i, probe in enumerate(exp.steady_state_hypothesis.probes):
            found.append((("steady-state-hypothesis", "probes", i), probe))
            if isinstance(probe.tolerance, dict) and probe.tolerance.get("type") == "probe":
                tolerance_probe = Activity.model_validate(probe.tolerance)
                found.append((("steady-state-hypothesis", "probes", i, "tolerance"), tolerance_probe))
    found += [(("method", i), a) for i, a in enumerate(exp.method)]
    found += [(("rollbacks", i), a) for i, a in enumerate(exp.rollbacks)]
    return found


def _check_provider(loc: tuple[Any, ...], activity: Activity, work_dir: Path) -> list[Problem]:
    provider = activity.provider
    where = format_path((*loc, "provider"))
    if isinstance(provider, ProcessProvider):
        if "${" not in provider.path and not shutil.which(str(Path(provider.path).expanduser())):
            return [Problem(f"{where}.path", f"{provider.path!r} is not found on PATH (activity {activity.label!r})")]
    elif isinstance(provider, PythonProvider):
        return _check_python(where, provider, activity, work_dir)
    return []


def _check_python(where: str, provider: PythonProvider, activity: Activity, work_dir: Path) -> list[Problem]:
    from chaoskit.ctk import extensions
    from chaoskit.ctk.providers import ActivityFailed, resolve_function

    mapped = extensions.check(provider, activity)
    if mapped is not None:
        return [Problem(where, message) for message in mapped]
    try:
        func = resolve_function(provider.module, provider.func, work_dir)
    except ActivityFailed as exc:
        return [Problem(where, f"{exc} (activity {activity.label!r})")]
    args: dict[str, Any] = dict(provider.arguments)
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return []
    for name in ("secrets", "configuration"):
        if name in params:
            args[name] = None
    try:
        inspect.signature(func).bind(**args)
    except TypeError as exc:
        return [
            Problem(f"{where}.arguments", f"{provider.module}.{provider.func}: {exc} (activity {activity.label!r})")
        ]
    return []


def _loc(path: str) -> tuple[Any, ...]:
    from chaoskit.loader import loc_of as loader_loc

    return loader_loc(path)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.path))
