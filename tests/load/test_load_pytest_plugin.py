"""Installing locust registers its pytest plugin (``pytest_locust``); chaoskit's suite runs without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_locust_pytest_plugin_is_not_loaded(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> None:
    assert pytestconfig.pluginmanager.get_plugin("locust") is None
    assert "pytest_locust.plugin" not in sys.modules
    assert pytestconfig.getoption("--host", default="absent") == "absent"
    with pytest.raises(pytest.FixtureLookupError):
        request.getfixturevalue("session")  # locust's fixture name stays free
    assert "locust" not in sys.modules and "gevent" not in sys.modules


def test_the_plugin_is_installed_and_would_register_otherwise(tmp_path: Path) -> None:
    """Shows why the root addopts carry ``-p no:locust``: without it, locust's plugin is active."""
    (tmp_path / "test_probe.py").write_text(
        "def test_it(pytestconfig):\n    assert pytestconfig.pluginmanager.get_plugin('locust') is not None\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_probe.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
