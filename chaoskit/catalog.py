"""What is installed and what the format looks like: ``chaoskit list``, ``schema`` and ``init``."""

from __future__ import annotations

from typing import Any

from chaoskit.registry import Kind, Registry, default_registry

LISTED: tuple[Kind, ...] = ("fault", "probe", "action", "load", "section")


def describe_plugins(kind: Kind | None = None, registry: Registry | None = None) -> list[dict[str, Any]]:
    """Every installed plugin (internal ones left out) with its summary and parameters (readable types)."""
    from chaoskit.schema import describe_params, model_schema

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
                if getattr(obj, "internal", False):
                    continue
                model = obj if k == "section" else obj.Params
                item["summary"] = (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""
                item["params"] = describe_params(model)
                item["schema"] = model_schema(model)
            except Exception as exc:  # a broken plugin is listed with its error, not hidden
                item["error"] = str(exc)
            described.append(item)
    return described


def experiment_schema() -> dict[str, Any]:
    """The experiment format with every installed plugin's sections and parameters (see chaoskit.schema)."""
    from chaoskit.schema import experiment_schema as build

    return build()


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
