"""The environment the demo and users get has no test-only plugins; the test environment has them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import CHAOSKIT, ROOT


def test_the_users_environment_has_no_testkit(tmp_path: Path) -> None:
    """What scripts/demo syncs (CHAOSKIT_USER_ENV=1), made in a separate folder so this suite's own environment
    is untouched: `chaoskit list` there shows no testkit.* plugin, and the test-only distribution is absent."""
    venv = tmp_path / "user-venv"
    env = {k: v for k, v in os.environ.items() if k not in ("CHAOSKIT_TEST_ENV", "VIRTUAL_ENV")}
    env.update(CHAOSKIT_USER_ENV="1", UV_PROJECT_ENVIRONMENT=str(venv))
    out = subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / 'bootstrap.sh'}"], env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    listed = subprocess.run([str(venv / "bin" / "chaoskit"), "list", "--json"], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    names = {item["name"] for item in json.loads(listed.stdout)}
    assert "toxiproxy.latency" in names and "http" in names  # the real plugins are there
    assert not [n for n in names if n.startswith("testkit.")]
    check = subprocess.run([str(venv / "bin" / "python"), "-c", "import chaoskit_testkit"], capture_output=True)
    assert check.returncode != 0


def test_the_test_environment_has_testkit() -> None:
    listed = subprocess.run([CHAOSKIT, "list", "--json"], capture_output=True, text=True, timeout=120)
    assert any(item["name"].startswith("testkit.") for item in json.loads(listed.stdout))
