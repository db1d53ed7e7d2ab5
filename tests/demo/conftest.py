"""The game day, run once per session through the README's own command (``scripts/demo``), shortened."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from shop.gameday import missing_plugins

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["ROOT", "GameDay", "demo_command", "demo_env", "missing_plugins"]


@dataclass
class GameDay:
    out: Path
    result: subprocess.CompletedProcess[str]

    def journals(self) -> dict[str, dict[str, Any]]:
        """Experiment file stem -> its journal."""
        found = {}
        for path in sorted((self.out / "runs").glob("*/journal.json")):
            journal = json.loads(path.read_text())
            found[Path(journal["source"]).stem] = journal
        return found


def demo_command(out: Path, *extra: str) -> list[str]:
    return ["bash", str(ROOT / "scripts" / "demo"), "--out", str(out), "--fault-duration", "4s", "--users", "4", *extra]


def demo_env(state: Path) -> dict[str, str]:
    env = {**os.environ, "CHAOSKIT_STATE_DIR": str(state)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return env


@pytest.fixture(scope="session")
def gameday(tmp_path_factory: pytest.TempPathFactory) -> GameDay:
    missing = missing_plugins()
    if missing:
        pytest.skip(f"the demo needs plugins that are not installed: {', '.join(missing)}")
    out = tmp_path_factory.mktemp("gameday")
    result = subprocess.run(
        demo_command(out),
        env=demo_env(out / "state"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=ROOT,
    )
    (out / "demo.stderr").write_text(result.stderr)
    return GameDay(out, result)
