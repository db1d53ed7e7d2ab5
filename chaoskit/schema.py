"""The JSON Schema of the experiment format, with every installed plugin in it, and readable parameter types.

``chaoskit schema`` prints :func:`experiment_schema`: the core format, each plugin-owned top-level section
(``toxiproxy:``, ``kubernetes:``), and each plugin's ``with:`` parameters, selected by the step's plugin name
(``if fault == "toxiproxy.latency" then with: <its model>``), so an editor flags a typo in a parameter as
chaoskit would. Two things the plain pydantic schema gets wrong for a YAML author are fixed here:

* a duration (:data:`chaoskit.durations.Duration`) is written ``"30s"`` or a number, not only a number;
* any value may be a ``${name}`` configuration reference, which the loader substitutes before validating.

:func:`describe_params` turns a parameters model into rows (name, readable type such as ``int ≥ 0`` or
``duration ≤ 1m``, default, description) for ``chaoskit list`` and the generated docs.
"""

from __future__ import annotations

import copy
import json
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from chaoskit.durations import format_duration, parse_duration
from chaoskit.model.base import Regex
from chaoskit.model.experiment import Experiment
from chaoskit.registry import Kind, Registry, default_registry

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DURATION_PATTERN = r"^ *\d+(\.\d+)? *((ms|s|m|h) *(\d+(\.\d+)? *(ms|s|m|h) *)*)?$"
REFERENCE = {"type": "string", "pattern": r"\$\{[^}]+\}", "description": "A ${name} configuration reference."}
_REGEX_CHECK = get_args(Regex)[1].func  # the AfterValidator that compiles the pattern
_STEP_KINDS: tuple[Kind, ...] = ("fault", "action", "probe")


class _Generator(GenerateJsonSchema):
    """pydantic's generator, plus ``format: duration`` (number or ``"1m30s"``) and ``format: regex``."""

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
        inner = super().function_before_schema(schema)
        if schema["function"]["function"] is parse_duration:
            number = {k: v for k, v in inner.items() if k not in ("title", "description")}
            return {"anyOf": [number, {"type": "string", "pattern": DURATION_PATTERN}], "format": "duration"}
        return inner

    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> JsonSchemaValue:
        inner = super().function_after_schema(schema)
        if schema["function"]["function"] is _REGEX_CHECK:
            return {**inner, "format": "regex"}
        return inner


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """One model's JSON Schema, with durations and regexes marked (see the module docstring)."""
    return model.model_json_schema(by_alias=True, schema_generator=_Generator)


def _allow_references(node: Any, wrap: bool = True) -> Any:
    """Let every typed value inside ``node`` also be a ``${name}`` string (strings already are); ``node`` itself
    too when ``wrap``."""
    if isinstance(node, list):
        return [_allow_references(item) for item in node]
    if not isinstance(node, dict):
        return node
    walked = {key: (_allow_references(value) if key not in ("const", "enum", "default") else value)
              for key, value in node.items()}  # fmt: skip
    typed = walked.get("type") in ("integer", "number", "boolean", "array", "object")
    if wrap and (typed or any(key in walked for key in ("enum", "const", "format", "pattern"))):
        return {"anyOf": [walked, {"$ref": "#/$defs/Reference"}]}
    return walked


def experiment_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The whole format for editors: core model, plugin sections and each plugin's ``with:`` parameters."""
    registry = registry or default_registry()
    plugins: dict[tuple[Kind, str], type[BaseModel]] = {}
    for kind in (*_STEP_KINDS, "load", "section"):
        for name in registry.entries(kind):
            obj = registry.load(kind, name)
            if not getattr(obj, "internal", False):
                plugins[(kind, name)] = obj if kind == "section" else obj.Params
    models: list[type[BaseModel]] = [Experiment, *dict.fromkeys(plugins.values())]
    refs, top = models_json_schema(
        [(m, "validation") for m in models], by_alias=True, schema_generator=_Generator, title="chaoskit experiment"
    )
    defs: dict[str, Any] = {key: _allow_references(value, wrap=False) for key, value in top["$defs"].items()}

    def ref(model: type[BaseModel]) -> str:
        return str(refs[(model, "validation")]["$ref"])

    for (kind, name), model in plugins.items():
        if kind == "load":  # load: {driver: NAME, ...its parameters}
            target = defs[ref(model).rsplit("/", 1)[1]]
            merged = copy.deepcopy(target)
            merged.setdefault("properties", {})["driver"] = {"const": name}
            defs[f"load.{name}"] = merged
    step_rules = [_when(kind, name, ref(model)) for (kind, name), model in plugins.items() if kind in _STEP_KINDS]
    defs["Step"]["allOf"] = step_rules
    defs["ProbeSpec"]["allOf"] = [_when("probe", n, ref(m)) for (k, n), m in plugins.items() if k == "probe"]
    for kind in _STEP_KINDS:
        names = sorted(n for k, n in plugins if k == kind)
        prop = defs["Step"]["properties"][kind]
        defs["Step"]["properties"][kind] = {**prop, "anyOf": [{"enum": names}, {"type": "null"}]}
    defs["ProbeSpec"]["properties"]["probe"]["enum"] = sorted(n for k, n in plugins if k == "probe")
    schema: dict[str, Any] = {"$schema": DIALECT, **copy.deepcopy(defs.pop("Experiment"))}
    schema["title"] = "chaoskit experiment"
    schema["properties"].pop("sections", None)
    for (kind, name), model in plugins.items():
        if kind == "section":
            schema["properties"][name] = {"$ref": ref(model)}
    drivers = [name for kind, name in plugins if kind == "load"]
    if drivers:
        rules = [{"if": {"required": ["driver"], "properties": {"driver": {"const": d}}},
                  "then": {"$ref": f"#/$defs/load.{d}"}} for d in drivers]  # fmt: skip
        if "locust" in drivers:  # the loader's default driver
            rules.append({"if": {"not": {"required": ["driver"]}}, "then": {"$ref": "#/$defs/load.locust"}})
        schema["properties"]["load"] = {
            "description": schema["properties"]["load"].get("description", ""),
            "anyOf": [
                {"type": "object", "properties": {"driver": {"enum": drivers}}, "allOf": rules},
                {"type": "null"},
            ],
        }
    schema["additionalProperties"] = False
    schema["$defs"] = {**defs, "Reference": REFERENCE}
    return schema


def _when(kind: str, name: str, params_ref: str) -> dict[str, Any]:
    return {
        "if": {"required": [kind], "properties": {kind: {"const": name}}},
        "then": {"properties": {"with": {"$ref": params_ref}}},
    }


# -- readable types ---------------------------------------------------------------------------------------
_NAMES = {"integer": "int", "number": "number", "string": "str", "boolean": "bool", "null": "null"}


def type_label(node: dict[str, Any], defs: dict[str, Any]) -> str:
    """``int ≥ 0``, ``duration ≤ 1m``, ``regex``, ``one of 'a', 'b'``, ``list of str``... for a schema node."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        target = defs.get(name, {})
        return name if "properties" in target else type_label(target, defs)
    if node.get("format") == "duration":
        number: dict[str, Any] = next((n for n in node.get("anyOf", []) if n.get("type") == "number"), {})
        return "duration" + _bounds(number, _show_duration)
    if "anyOf" in node:
        parts = [type_label(n, defs) for n in node["anyOf"] if n.get("type") != "null"]
        return " | ".join(dict.fromkeys(parts))
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(v) for v in node["enum"])
    if "const" in node:
        return json.dumps(node["const"])
    if node.get("format") == "regex":
        return "regex"
    kind = node.get("type")
    if kind == "array":
        return f"list of {type_label(node.get('items', {}), defs)}"
    if kind == "object":
        values = node.get("additionalProperties")
        return f"map of str to {type_label(values, defs)}" if isinstance(values, dict) and values else "map"
    if isinstance(kind, str):
        return _NAMES.get(kind, kind) + _bounds(node, _show_number)
    return "any"


def _show_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _show_duration(seconds: float) -> str:
    return format_duration(seconds) if seconds else "0"


def _bounds(node: dict[str, Any], show: Any) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return f" {show(low)}..{show(high)}"
    marks = (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
    found = [f"{sign} {show(node[key])}" for key, sign in marks if key in node]
    return (" " + ", ".join(found)) if found else ""


def describe_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One row per parameter: name, type (readable), required, default (as written in YAML), description."""
    schema = model_schema(model)
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    rows = []
    for name, node in schema.get("properties", {}).items():
        row: dict[str, Any] = {
            "name": name,
            "type": type_label(node, defs),
            "required": name in required,
            "description": node.get("description", ""),
        }
        if name not in required and node.get("default") is not None:
            default = node["default"]
            if node.get("format") == "duration" and isinstance(default, int | float):
                default = _show_duration(default)
            row["default"] = default
        rows.append(row)
    return rows
