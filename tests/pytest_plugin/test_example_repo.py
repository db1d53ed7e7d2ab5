"""examples/service-repo, run with the one command its README gives."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "examples/service-repo", "-p", "no:cacheprovider", "-rA", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_example_repo_skips_its_chaos_tests_by_default() -> None:
    result = _pytest()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 3 skipped" in result.stdout, result.stdout


def test_example_repo_resilience_tests_pass_with_chaos(tmp_path: Path) -> None:
    """With two xdist workers, as a CI job would run it: JUnit properties travel back from the workers."""
    junit = tmp_path / "junit.xml"
    result = _pytest("--chaos", "-n", "2", "--chaos-runs-dir", str(tmp_path / "runs"), f"--junitxml={junit}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout, result.stdout
    outcomes = {
        case.get("name"): [p.get("value") for p in case.iter("property") if p.get("name") == "chaoskit.outcome"]
        for case in ET.parse(junit).getroot().iter("testcase")
    }
    assert outcomes == {
        "catalog-hangs": ["passed"],
        "test_cached_products_survive_a_hung_catalog": ["passed"],
        "test_live_products_do_not_survive_a_hung_catalog": ["deviated"],
        "test_products": [],
    }
    assert len(list((tmp_path / "runs").glob("*/journal.json"))) == 3


def test_a_chaos_var_no_experiment_declares_is_a_usage_error(tmp_path: Path) -> None:
    """The repo's Python chaos tests build their experiments while they run: the check comes at the end."""
    result = _pytest("--chaos", "--chaos-var", "nope=1", "--chaos-runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "ERROR: --chaos-var nope: no experiment that ran declares it in its configuration" in result.stdout
    assert "(declared: catalog_pid, shop)" in result.stdout, result.stdout
