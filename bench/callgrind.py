"""Instruction counts with valgrind's callgrind: the headline figure of the CPU benchmarks, because the
count of executed instructions does not depend on what else the (shared) machine is doing.

``instructions(cmd)`` runs ``cmd`` under ``valgrind --tool=callgrind`` and returns the instructions it
executed (``Collected``). valgrind is installed with apt-get on first use when it is missing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def ensure_valgrind() -> str:
    found = shutil.which("valgrind")
    if found:
        return found
    print("installing valgrind (apt-get, once)...", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "valgrind"], check=True, timeout=900)
    found = shutil.which("valgrind")
    if found is None:
        raise SystemExit("valgrind is still not on PATH after apt-get install valgrind")
    return found


def instructions(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float = 3600, cwd: Path | None = None
) -> int:
    """Instructions executed by ``cmd`` (its children are not followed); raises if it fails."""
    with tempfile.TemporaryDirectory(prefix="chaoskit-callgrind-") as tmp:
        out_file = Path(tmp) / "callgrind.out"
        run = subprocess.run(
            [ensure_valgrind(), "--tool=callgrind", f"--callgrind-out-file={out_file}", *cmd],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False,
        )  # fmt: skip
        if run.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed under callgrind ({run.returncode}):\n{run.stderr[-3000:]}")
        found = _COLLECTED.findall(run.stderr)
        if not found:
            raise SystemExit(f"no 'Collected' line in callgrind's output:\n{run.stderr[-2000:]}")
        return int(found[-1])
