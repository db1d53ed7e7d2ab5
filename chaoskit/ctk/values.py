"""Configuration and secrets as CTK resolves them, and CTK's ``${name}`` substitution.

* configuration: a literal, or ``{type: env, key, default?, env_var_type?}``; ``--var name[:type]=value`` and
  the ``configuration`` of a ``--var-file`` override it;
* secrets: scopes of names, each a literal or ``{type: env, key}``; a var file's ``secrets`` replace a scope;
  a ``.env`` var file sets environment variables;
* substitution uses :class:`string.Template` (``${name}`` and ``$name``): a string that is exactly one
  reference takes the value's own type; an unknown name is left as written (CTK passes it on as is).
"""

from __future__ import annotations

import json
from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from string import Template
from typing import Any

import yaml

from chaoskit.errors import ChaosKitError, Problem, ValidationFailed

Secrets = dict[str, dict[str, Any]]


def convert(kind: str | None, raw: str) -> Any:
    """``--var name:type=value`` and ``env_var_type``: str, int, float, bytes, bool or json."""
    if kind in (None, "str", "string"):
        return raw
    if kind in ("int", "integer"):
        return int(raw)
    if kind in ("float", "number"):
        return float(raw)
    if kind == "bytes":
        return raw.encode("utf-8")
    if kind == "bool":
        return raw.lower() not in ("false", "0", "no")
    if kind == "json":
        return json.loads(raw) if raw else raw
    raise ValueError(f"unknown type {kind!r} (one of str, int, float, bytes, bool, json)")


def parse_vars(texts: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``--var`` values as CTK reads them: ``name=value`` or ``name:type=value``."""
    out: dict[str, Any] = {}
    for text in texts:
        name, sep, raw = text.partition("=")
        if not sep or not name:
            raise ValueError(f"--var {text!r}: expected name=value or name:type=value")
        kind = None
        if ":" in name:
            name, kind = name.rsplit(":", 1)
        try:
            out[name] = convert(kind, raw)
        except ValueError as exc:
            raise ValueError(f"--var {text!r}: {exc}") from None
    return out


def read_var_files(
    paths: list[Path] | tuple[Path, ...], env: MutableMapping[str, str]
) -> tuple[dict[str, Any], Secrets]:
    """``--var-file``: JSON/YAML with ``configuration`` and ``secrets``, or a ``.env`` file (sets ``env``)."""
    config: dict[str, Any] = {}
    secrets: Secrets = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ChaosKitError(f"--var-file {path}: cannot read it: {exc}") from exc
        data: Any = None
        if path.suffix in (".yaml", ".yml", ".json"):
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ValidationFailed([Problem("", f"not valid YAML/JSON: {exc}")], str(path)) from None
            if data is not None and not isinstance(data, dict):
                raise ValidationFailed([Problem("", "a var file is a mapping with configuration/secrets")], str(path))
        if data:
            config.update(data.get("configuration") or {})
            secrets.update(data.get("secrets") or {})
            continue
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise ValidationFailed([Problem("", f"line {number}: expected NAME=value")], str(path))
            env[key.strip()] = value
    return config, secrets


def load_configuration(
    declared: Mapping[str, Any], overrides: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    conf: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in declared.items():
        if key in overrides:
            conf[key] = overrides[key]
        elif isinstance(value, dict) and value.get("type") == "env":
            if value["key"] not in env and "default" not in value:
                problems.append(
                    Problem(
                        f"configuration.{key}",
                        f"environment variable {value['key']} is not set and there is no default",
                    )
                )
                continue
            raw = env.get(value["key"], value.get("default"))
            try:
                conf[key] = convert(value.get("env_var_type"), raw) if isinstance(raw, str) else raw
            except ValueError as exc:
                problems.append(Problem(f"configuration.{key}", str(exc)))
        else:
            conf[key] = value
    return conf, problems


def load_secrets(
    declared: Mapping[str, Mapping[str, Any]], overrides: Secrets, env: Mapping[str, str]
) -> tuple[Secrets, list[Problem]]:
    out: Secrets = {}
    problems: list[Problem] = []
    for scope, values in declared.items():
        if overrides.get(scope) is not None:
            out[scope] = dict(overrides[scope])
            continue
        out[scope] = {}
        for name, value in values.items():
            if isinstance(value, dict) and value.get("type") == "env":
                if value["key"] not in env:
                    problems.append(
                        Problem(f"secrets.{scope}.{name}", f"environment variable {value['key']} is not set")
                    )
                    continue
                out[scope][name] = env[value["key"]]
            else:
                out[scope][name] = value
    return out, problems


def substitute(data: Any, configuration: Mapping[str, Any], secrets: Secrets) -> Any:
    """CTK's substitution, recursively through mappings and lists; the input is not changed."""
    if not data:
        return data
    mapping: ChainMap[str, Any] = ChainMap(dict(configuration), *secrets.values())
    return _sub(data, mapping)


def _sub(data: Any, mapping: Mapping[str, Any]) -> Any:
    if isinstance(data, str):
        template = Template(data)
        whole = template.pattern.fullmatch(data)
        if whole is not None:
            name = whole.group("named") or whole.group("braced")
            if name is not None and name in mapping:
                return mapping[name]
        return template.safe_substitute(mapping)
    if isinstance(data, dict):
        return {k: _sub(v, mapping) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_sub(v, mapping) for v in data]
    return data
