"""Throwaway virtualenvs for tests that need an environment other than the suite's own (a service repo with
and without chaoskit, Locust in an environment of its own). Made by uv from the shared uv cache, once per
content, under ``$CHAOSKIT_CACHE/test-envs/`` (a lock file keeps xdist workers from building one twice)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("CHAOSKIT_CACHE") or Path.home() / ".cache" / "chaoskit")


def uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(CACHE / "uv-venv" / "bin" / "uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise RuntimeError("uv not found: scripts/bootstrap.sh installs it (into $CHAOSKIT_CACHE/uv-venv)")


def venv(name: str, *steps: list[str]) -> Path:
    """The python of a virtualenv made by ``uv venv`` and one ``uv pip install`` per step (requirement args;
    ``-e PATH`` for an editable install of a folder of this repo). Rebuilt when the steps or the pyproject
    files of this checkout change."""
    files = [ROOT / "pyproject.toml", *sorted(ROOT.glob("plugins/*/pyproject.toml"))]
    pyprojects = [p.read_text(encoding="utf-8") for p in files]
    key = hashlib.sha1(json.dumps([str(ROOT), sys.version, steps, pyprojects]).encode()).hexdigest()[:12]
    where = CACHE / "test-envs" / f"{name}-{key}"
    python = where / "bin" / "python"
    where.parent.mkdir(parents=True, exist_ok=True)
    with open(where.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (where / ".done").exists():
            return python
        shutil.rmtree(where, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
        _run([uv(), "venv", "--quiet", "--python", sys.executable, str(where)], env)
        for step in steps:
            _run([uv(), "pip", "install", "--quiet", "--python", str(python), *step], env)
        (where / ".done").touch()
    return python


def _run(cmd: list[str], env: dict[str, str]) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would steer a nested pytest or python (xdist, addopts, paths)."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CHAOSKIT_LOCUST")) and k not in drop}
    return {**env, **extra}
