"""Configuration and secrets: resolution (literal, {env, default}, --var) and ``${name}`` substitution."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from chaoskit import redaction
from chaoskit.errors import Problem
from chaoskit.hints import ctk_problems
from chaoskit.record import field, record
from chaoskit.redaction import REDACTED

_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_NOT_SUBSTITUTED = ("configuration", "secrets")


def parse_var(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line; the value is read as a YAML scalar (``10`` is an int)."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--var {text!r}: expected name=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, dict | list):
        value = raw
    return name.strip(), value


def resolve_values(
    section: str, raw: Mapping[str, Any], overrides: Mapping[str, Any], env: Mapping[str, str], problems: list[Problem]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name in overrides:
            out[name] = overrides[name]
        elif isinstance(value, dict) and "env" in value:
            var = value.get("env")
            if isinstance(var, str) and var in env:
                out[name] = env[var]
            elif "default" in value:
                out[name] = value["default"]
            else:
                problems.append(
                    Problem(f"{section}.{name}", f"environment variable {var} is not set and there is no default")
                )
        else:
            out[name] = value
    return out


def substitute(doc: Any, values: Mapping[str, Any], problems: list[Problem], path: str = "") -> Any:
    """Replace ``${name}`` in every string. A string that is exactly one reference keeps the value's type.
    ``$${`` stands for a literal ``${``."""
    if isinstance(doc, dict):
        return {
            k: (v if not path and k in _NOT_SUBSTITUTED else substitute(v, values, problems, _join(path, k)))
            for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [substitute(v, values, problems, f"{path}[{i}]") for i, v in enumerate(doc)]
    if not isinstance(doc, str) or "${" not in doc:
        return doc
    whole = _REF.fullmatch(doc)
    if whole and whole.group(1):
        name = whole.group(1)
        if name in values:
            return values[name]
        problems.append(_unknown(path, name, values))
        return doc

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "${"
        if name not in values:
            problems.append(_unknown(path, name, values))
            return match.group(0)
        return str(values[name])

    return _REF.sub(repl, doc)


def _unknown(path: str, name: str, values: Mapping[str, Any]) -> Problem:
    known = ", ".join(sorted(values)) or "none defined"
    return Problem(path, f"${{{name}}} is not defined in configuration or secrets (defined: {known})")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


@record
class Resolved:
    document: dict[str, Any]
    redacted: dict[str, Any]
    """The document with every secret replaced by ``***``: what journals and reports show."""
    configuration: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def resolve_document(
    doc: dict[str, Any], overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Resolved:
    problems: list[Problem] = []
    env = os.environ if env is None else env
    overrides = dict(overrides or {})
    raw_config = doc.get("configuration") or {}
    raw_secrets = doc.get("secrets") or {}
    if not isinstance(raw_config, dict) or not isinstance(raw_secrets, dict):
        return Resolved(doc, doc, problems=problems)  # the model reports the wrong type
    unknown = sorted(set(overrides) - set(raw_config))
    for name in unknown:
        problems.append(
            Problem(
                "configuration",
                f"--var {name}: no such configuration value (defined: {', '.join(sorted(raw_config)) or 'none'})",
            )
        )
    ctk = ctk_problems("configuration", raw_config) + ctk_problems("secrets", raw_secrets)
    problems.extend(Problem(path, message) for path, message in ctk)
    ctk_secrets = {path.split(".")[1] for path, _ in ctk if path.startswith("secrets.")}
    config = resolve_values("configuration", raw_config, overrides, env, problems)
    secrets = resolve_values("secrets", raw_secrets, {}, env, problems)
    for name, value in secrets.items():
        if name in ctk_secrets:
            continue  # reported above; its text is an env var name, not a secret
        why = redaction.problem(value)
        if why is not None:
            problems.append(Problem(f"secrets.{name}", why))
        else:
            redaction.register({name: value})
    clash = sorted(set(config) & set(secrets))
    for name in clash:
        problems.append(Problem(f"secrets.{name}", "the same name is defined in configuration"))
    real = {**config, **secrets}
    resolved = substitute(doc, real, problems)
    redacted = substitute(doc, {**config, **dict.fromkeys(secrets, REDACTED)}, [])
    redacted["configuration"] = config
    redacted["secrets"] = dict.fromkeys(raw_secrets, REDACTED)
    return Resolved(resolved, redacted, config, secrets, problems)


def redact_text(text: str, secrets: Mapping[str, Any]) -> str:
    """Hide these secrets (and every one known before) in ``text``: the rule of :mod:`chaoskit.redaction`."""
    redaction.register({k: v for k, v in secrets.items() if redaction.problem(v) is None})
    return redaction.scrub_text(text)


__all__ = ["REDACTED", "Resolved", "parse_var", "redact_text", "resolve_document", "substitute"]
