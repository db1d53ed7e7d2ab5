"""pydantic's plugins come from chaoskit's one entry-point scan (chaoskit.entrypoints.share_with_pydantic): a
pydantic plugin installed next to chaoskit still sees every chaoskit model, and a broken one is a warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PLUGIN = """
seen = []

class Plugin:
    def new_schema_validator(self, schema, schema_type, schema_type_path, schema_kind, config, plugin_settings):
        seen.append(getattr(schema_type, "__name__", str(schema_type)))
        return None, None, None

plugin = Plugin()
"""

CHECK = """
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import chaoskit.model
import fake_pydantic_plugin
from pydantic.plugin import _loader
print(json.dumps({"seen": fake_pydantic_plugin.seen, "plugins": sorted(_loader._plugins or {}),
                  "warnings": [str(w.message) for w in caught]}))
"""


def _install(site: Path, entry_points: str) -> None:
    info = site / "fake_pydantic_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-pydantic-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    (site / "fake_pydantic_plugin.py").write_text(PLUGIN)


def _check(site: Path, **env: str) -> dict[str, list[str]]:
    environ = {**os.environ, "PYTHONPATH": str(site), **env}
    done = subprocess.run([sys.executable, "-c", CHECK], env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


def test_a_pydantic_plugin_sees_chaoskits_models(tmp_path: Path) -> None:
    _install(tmp_path, "[pydantic]\nfake = fake_pydantic_plugin:plugin\n")
    found = _check(tmp_path)
    assert found["plugins"] == ["fake_pydantic_plugin:plugin"]
    assert {"StrictModel", "Experiment", "Journal", "ObservationRecord"} <= set(found["seen"])
    assert found["warnings"] == []
    assert _check(tmp_path, PYDANTIC_DISABLE_PLUGINS="1")["seen"] == []  # pydantic's own switch still works


def test_a_broken_pydantic_plugin_is_a_warning(tmp_path: Path) -> None:
    _install(tmp_path, "[pydantic]\nbroken = no_such_module:plugin\nfake = fake_pydantic_plugin:plugin\n")
    found = _check(tmp_path)
    assert found["plugins"] == ["fake_pydantic_plugin:plugin"] and "Experiment" in found["seen"]
    assert len(found["warnings"]) == 1 and "'broken'" in found["warnings"][0]
