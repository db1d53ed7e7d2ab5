"""A plugin distribution's ``chaoskit.hooks`` are imported only for experiments that use one of its plugins;
a distribution of hooks alone always comes along. Each case runs in a fresh interpreter (real entry points of
two distributions put on ``sys.path`` by the test, a real run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PLUGIN = """
from chaoskit.hooks import hookimpl
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Probe


class Params(StrictModel):
    pass


class AlwaysProbe(Probe[Params]):
    Params = Params

    def observe(self, params, ctx):
        return Observation(True)


class Hooks:
    @hookimpl
    def chaoskit_run_started(self, journal):
        open("plugin-hook-ran", "w").close()


hooks = Hooks()
"""

ALONE = """
from chaoskit.hooks import hookimpl


class Hooks:
    @hookimpl
    def chaoskit_run_started(self, journal):
        open("alone-hook-ran", "w").close()


hooks = Hooks()
"""

RUN = """
import json, sys
from pathlib import Path
from chaoskit.loader import validate_document
from chaoskit.runner import RunOptions, run_experiment
doc = json.loads(sys.argv[1])
options = RunOptions(out_dir=Path("runs"), handle_signals=False)
journal = run_experiment(validate_document(doc, source="exp.yaml"), options)
watched = ("fakeplug", "alonehooks", "chaoskit_kubernetes", "chaoskit_toxiproxy", "chaoskit_httpfault")
mods = sorted(m for m in sys.modules if m.startswith(watched))
print(json.dumps({"outcome": journal.outcome.value, "modules": mods}))
"""


def _dist(site: Path, name: str, module: str, source: str, entry_points: str) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    (site / f"{module}.py").write_text(source)


def _run(tmp_path: Path, doc: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    site = tmp_path / "site"
    if not site.exists():
        _dist(site, "fake-plugin", "fakeplug", PLUGIN, "[chaoskit.probes]\nfake.always = fakeplug:AlwaysProbe\n\n"
              "[chaoskit.hooks]\nfakeplug = fakeplug:hooks\n")  # fmt: skip
        _dist(site, "alone-hooks", "alonehooks", ALONE, "[chaoskit.hooks]\nalonehooks = alonehooks:hooks\n")
    work = tmp_path / f"work-{len(list(tmp_path.glob('work-*')))}"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(doc)], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1]), {p.name for p in work.iterdir()}


def test_hooks_of_unused_plugins_stay_unimported(tmp_path: Path) -> None:
    seen, files = _run(tmp_path, {"title": "no plugin", "method": [{"pause": "10ms"}]})
    assert seen["outcome"] == "passed"
    # Not the fake plugin's hooks, nor the Kubernetes, Toxiproxy and httpfault plugins' (installed here).
    assert seen["modules"] == ["alonehooks"]
    assert "alone-hook-ran" in files and "plugin-hook-ran" not in files


def test_hooks_of_a_used_plugin_are_loaded_and_run(tmp_path: Path) -> None:
    doc = {"title": "uses it", "method": [{"probe": "fake.always", "expect": {"equals": True}}]}
    seen, files = _run(tmp_path, doc)
    assert seen["outcome"] == "passed"
    assert seen["modules"] == ["alonehooks", "fakeplug"]
    assert {"alone-hook-ran", "plugin-hook-ran"} <= files
