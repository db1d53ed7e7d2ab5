"""docs/writing-a-plugin.md: the example plugin, installed from its own folder (it is not part of the workspace)
into an environment of its own, is listed, validated and run against the real quick start service."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaoskit.ports import wait_listening
from tests.conftest import ROOT
from tests.venvs import venv

EXAMPLE = ROOT / "examples" / "plugin-example"
GUIDE = ROOT / "docs" / "writing-a-plugin.md"


@pytest.fixture(scope="module")
def chaoskit_bin() -> Path:
    python = venv("plugin-example", ["-e", str(ROOT), "-e", str(ROOT / "probes" / "http")], ["-e", str(EXAMPLE)])
    return python.with_name("chaoskit")


@pytest.fixture
def service() -> Iterator[str]:
    server = ROOT / "examples" / "quickstart" / "server.py"
    proc = subprocess.Popen([sys.executable, str(server)], stdout=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{wait_listening(proc, 'the quick start service', timeout=30)[0]}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_the_plugin_is_listed_with_its_parameters(chaoskit_bin: Path) -> None:
    out = subprocess.run([str(chaoskit_bin), "list", "--kind", "fault"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "example.slow_endpoint" in out.stdout and "(chaoskit-example-slowdown)" in out.stdout
    assert "delay: duration > 0, ≤ 1m (required)" in out.stdout
    assert "testkit." not in out.stdout  # a user's environment: no test-only plugins


def test_the_example_experiment_runs_and_the_fault_is_reverted(
    chaoskit_bin: Path, service: str, tmp_path: Path
) -> None:
    cmd = [str(chaoskit_bin), "run", str(EXAMPLE / "experiment.yaml"), "--var", f"base_url={service}", "--json",
           "--out", str(tmp_path / "runs"), "--ledger-dir", str(tmp_path / "ledger")]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    journal = json.loads(Path(json.loads(out.stdout)["journal"]).read_text())
    assert journal["outcome"] == "passed"
    with urllib.request.urlopen(f"{service}/health", timeout=5) as response:
        assert json.loads(response.read())["delay_ms"] == 0  # reverted


def test_a_bad_parameter_is_reported_with_its_path(chaoskit_bin: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLE / "experiment.yaml").read_text().replace("delay: 1s", "delay: 2m"))
    out = subprocess.run([str(chaoskit_bin), "validate", str(bad)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 5
    assert "method[0].with.delay: Input should be less than or equal to 60" in out.stdout + out.stderr


def test_the_guide_shows_the_tested_code() -> None:
    guide = GUIDE.read_text()
    for path in (EXAMPLE / "chaoskit_example_slowdown" / "__init__.py", EXAMPLE / "pyproject.toml"):
        assert path.read_text().strip() in guide, f"{path.name} in {GUIDE.name} differs from the tested file"
