"""Every ready-made experiment (experiments/ and the demo's examples/shop/experiments/) is valid.

A file that needs a plugin that is not installed is skipped, naming the missing plugins (for example the
kubernetes ones on a machine without chaoskit-kubernetes); everything else must validate with its defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoskit.errors import ValidationFailed
from chaoskit.loader import load_experiment
from chaoskit.registry import default_registry

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for d in ("experiments", "examples/shop/experiments") for p in (ROOT / d).glob("*.y*ml"))


def needed_plugins(doc: dict[str, Any]) -> set[tuple[str, str]]:
    needed: set[tuple[str, str]] = set()
    for probe in (doc.get("steady_state") or {}).get("probes", []) + (doc.get("safety") or {}).get("abort_when", []):
        needed.add(("probe", probe["probe"]))
    for step in (doc.get("method") or []) + (doc.get("rollbacks") or []):
        for kind in ("fault", "action", "probe"):
            if kind in step:
                needed.add((kind, step[kind]))
    if doc.get("load"):
        needed.add(("load", doc["load"].get("driver", "locust")))
    core = {
        "version",
        "title",
        "description",
        "tags",
        "configuration",
        "secrets",
        "steady_state",
        "method",
        "rollbacks",
        "recovery",
        "safety",
        "load",
        "tracing",
    }
    needed.update(("section", key) for key in doc if key not in core)
    return needed


def test_the_catalogue_has_the_common_scenarios() -> None:
    names = {p.stem for p in FILES}
    assert "network-partition" in names
    assert len([p for p in FILES if p.parent.name == "experiments" and p.parent.parent.name == "shop"]) >= 3


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_experiment_is_valid(path: Path) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    registry = default_registry()
    missing = sorted(f"{kind} {name}" for kind, name in needed_plugins(doc) if name not in registry.entries(kind))
    if missing:
        pytest.skip(f"{path.name} needs plugins that are not installed: {', '.join(missing)}")
    try:
        loaded = load_experiment(path, env={})
    except ValidationFailed as exc:
        pytest.fail(f"{path} is invalid:\n" + "\n".join(str(p) for p in exc.problems))
    exp = loaded.experiment
    assert exp.description.strip(), f"{path.name}: describe the experiment (what, why, parameters)"
    assert "Parameters" in exp.description, f"{path.name}: list its configuration parameters in the description"
    for name in doc.get("configuration", {}):
        assert name in exp.description, f"{path.name}: the description does not mention parameter {name!r}"
