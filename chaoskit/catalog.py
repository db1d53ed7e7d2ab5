"""What is installed and what the format looks like: ``chaoskit list``, ``schema`` and ``init``."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from chaoskit.model.experiment import Experiment
from chaoskit.registry import Kind, Registry, default_registry

LISTED: tuple[Kind, ...] = ("fault", "probe", "action", "load", "section")


def _params(model: type[BaseModel]) -> list[dict[str, Any]]:
    out = []
    for name, info in model.model_fields.items():
        item: dict[str, Any] = {
            "name": info.alias or name,
            "type": _type_name(info.annotation),
            "description": info.description or "",
        }
        if not info.is_required():
            default = info.get_default(call_default_factory=True)
            try:
                json.dumps(default)
                item["default"] = default
            except TypeError:
                item["default"] = repr(default)
        out.append(item)
    return out


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    return text or str(annotation).replace("typing.", "")


def describe_plugins(kind: Kind | None = None, registry: Registry | None = None) -> list[dict[str, Any]]:
    registry = registry or default_registry()
    described = []
    for k in (kind,) if kind else LISTED:
        for name, entry in sorted(registry.entries(k).items()):
            item: dict[str, Any] = {
                "kind": k,
                "name": name,
                "distribution": entry.distribution,
                "summary": "",
                "params": [],
            }
            try:
                obj = registry.load(k, name)
                model = obj if k == "section" else obj.Params
                item["summary"] = (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""
                item["params"] = _params(model)
                item["schema"] = model.model_json_schema()
            except Exception as exc:  # a broken plugin is listed with its error, not hidden
                item["error"] = str(exc)
            described.append(item)
    return described


def experiment_schema() -> dict[str, Any]:
    schema = Experiment.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "chaoskit experiment"
    schema.get("properties", {}).pop("sections", None)
    # Plugin-owned top-level blocks (toxiproxy:, kubernetes:, ...) are validated by their plugins.
    schema["additionalProperties"] = True
    return schema


def scaffold(url: str) -> str:
    return f"""\
# A chaoskit experiment. Validate: chaoskit validate THIS_FILE ; dry run: chaoskit run THIS_FILE --dry-run
title: My service tolerates a slow dependency
description: >
  What we believe: while the dependency is slow, the service keeps answering within its SLO.
tags: [latency]

configuration:
  health_url: {{env: HEALTH_URL, default: "{url}"}}

steady_state:
  probes:
    - name: service healthy
      probe: http
      with: {{url: "${{health_url}}", timeout: 2s}}
      expect: {{status: 200, latency_ms: {{max: 500}}}}

method:
  # Replace this with a fault, e.g. toxiproxy.latency (see: chaoskit list --kind fault)
  - action: process
    with: {{command: ["echo", "inject a fault here"]}}
  - pause: 5s

recovery: {{within: 30s, interval: 1s}}
safety: {{max_duration: 5m}}
"""
