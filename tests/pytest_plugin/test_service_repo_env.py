"""A service repo's own tests see no difference when chaoskit (and its Locust load plugin) is installed.

Two real environments made by uv: the repo's (an older pytest and pluggy, freezegun) and the same plus
chaoskit and chaoskit-locust installed afterwards, as a user would. The repo's conftest defines ``--host``
(which Locust's pytest plugin would clash with) and its tests use freezegun, which walks every attribute of
every loaded module. Then the load plugin without Locust in the environment, and with Locust in one of its own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.venvs import ROOT, clean_env, venv

BASE = ["pytest==7.4.4", "pluggy==1.3.0", "freezegun==1.5.5"]

CONFTEST = """
import json, os, sys
import pytest

def pytest_addoption(parser):
    parser.addoption("--host", default="127.0.0.1:8000", help="the service under test")

@pytest.fixture
def host(request):
    return request.config.getoption("--host")

def pytest_unconfigure(config):
    with open(os.environ["SERVICE_REPO_MODULES"], "w") as fh:
        json.dump(sorted(sys.modules), fh)
"""

TESTS = """
import datetime, time
import pytest
from freezegun import freeze_time

@freeze_time("2024-02-03 04:05:06")
def test_frozen(host):
    assert datetime.datetime.now() == datetime.datetime(2024, 2, 3, 4, 5, 6)
    assert host == "127.0.0.1:9999"

def test_ticking():
    with freeze_time("2020-01-01") as frozen:
        frozen.tick(datetime.timedelta(seconds=90))
        assert time.time() == datetime.datetime(2020, 1, 1, 0, 1, 30, tzinfo=datetime.timezone.utc).timestamp()

@pytest.mark.parametrize("n", [1, 2, 3])
def test_plain(n):
    assert n

def test_fails_on_purpose():
    assert 1 + 1 == 3
"""


def _pytest(python: Path, repo: Path, label: str) -> tuple[list[str], set[str]]:
    modules = repo / f"modules-{label}.json"
    out = subprocess.run(
        [str(python), "-m", "pytest", "-v", "-rA", "-p", "no:cacheprovider", "--host", "127.0.0.1:9999"],
        cwd=repo,
        env=clean_env(SERVICE_REPO_MODULES=str(modules)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1, out.stdout + out.stderr  # the one failing test, nothing else
    return out.stdout.splitlines(), set(json.loads(modules.read_text()))


def _below_header(lines: list[str]) -> list[str]:
    """From ``collected N items`` on (the header names the interpreter, rootdir and installed plugins);
    only the duration differs between two runs, so it is masked."""
    start = next(i for i, line in enumerate(lines) if "collected " in line)
    return [re.sub(r" in [0-9.]+s ", " in <time> ", line) for line in lines[start:]]


def _versions(python: Path) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m\n"
        "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True)
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


@pytest.fixture(scope="module")
def envs() -> tuple[Path, Path]:
    without = venv("service-repo", BASE)
    with_chaoskit = venv("service-repo-chaoskit", BASE, ["-e", str(ROOT), "-e", str(ROOT / "plugins" / "locust")])
    return without, with_chaoskit


def test_the_repo_runs_byte_identical_with_chaoskit_installed(envs: tuple[Path, Path], tmp_path: Path) -> None:
    without, with_chaoskit = envs
    versions = _versions(with_chaoskit)
    assert "chaoskit" in versions and "chaoskit-locust" in versions
    assert "locust" not in versions  # no third-party pytest plugin arrives with chaoskit
    for pinned in BASE[:2]:  # installing chaoskit kept the repo's pytest and pluggy
        name, version = pinned.split("==")
        assert versions[name] == version, (name, versions[name])

    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_service.py").write_text(TESTS)
    lines_without, modules_without = _pytest(without, tmp_path, "without")
    lines_with, modules_with = _pytest(with_chaoskit, tmp_path, "with")

    assert any(line.startswith("plugins:") and "chaoskit-0" in line for line in lines_with), lines_with[:8]
    assert _below_header(lines_with) == _below_header(lines_without)
    assert "6 passed" not in "\n".join(lines_with) and "1 failed, 5 passed" in lines_with[-1]
    # The module budget: chaoskit adds its package and the plugin's entry module, though freezegun walked them;
    # pytest itself parses the entry point's distribution metadata (to print "plugins: chaoskit-0.1.0").
    added = modules_with - modules_without
    stdlib = {m for m in added if m.split(".")[0] in sys.stdlib_module_names}
    assert added - stdlib == {"chaoskit", "chaoskit.pytest_plugin"}
    assert stdlib <= {"email.parser", "email.feedparser"}


LOAD_EXPERIMENT = """
title: load from wherever Locust lives
load: {locustfile: locustfile.py, host: "URL", users: 2, spawn_rate: 20}
steady_state:
  probes:
    - {name: few errors, probe: load.error_rate, with: {last: 1s}, expect: {max: 0.5}}
method:
  - pause: 1s
"""


def test_locust_from_an_environment_of_its_own(envs: tuple[Path, Path], tmp_path: Path, http_service: Any) -> None:
    from tests.load.loadkit import LOCUSTFILE

    _, with_chaoskit = envs
    chaoskit = with_chaoskit.parent / "chaoskit"
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    (tmp_path / "exp.yaml").write_text(LOAD_EXPERIMENT.replace("URL", http_service.url))

    def run(name: str, **env: str) -> tuple[int, dict[str, Any]]:
        cmd = [str(chaoskit), "run", "exp.yaml", "--quiet", "--out", name]
        out = subprocess.run(cmd, cwd=tmp_path, env=clean_env(**env), capture_output=True, text=True, timeout=300)
        (journal,) = (tmp_path / name).glob("*/journal.json")
        return out.returncode, json.loads(journal.read_text())

    code, journal = run("missing")
    assert code == 4 and journal["outcome"] == "error"
    assert "chaoskit-locust[locust]" in journal["reason"] and "CHAOSKIT_LOCUST_PYTHON" in journal["reason"]

    code, journal = run("own-env", CHAOSKIT_LOCUST_PYTHON=str(venv("locust-only", ["locust==2.47.0"])))
    assert code == 0 and journal["outcome"] == "passed", journal["reason"]
    assert sum(w.get("requests", 0) for w in journal["load"]["windows"]) > 0, journal["load"]

    code, journal = run("bad", CHAOSKIT_LOCUST_PYTHON=str(tmp_path / "no-python"))
    assert code == 4
    assert f"CHAOSKIT_LOCUST_PYTHON={str(tmp_path / 'no-python')!r}: no such executable" in journal["reason"]
