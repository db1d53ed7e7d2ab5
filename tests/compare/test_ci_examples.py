"""The CI examples work as written: the GitHub workflow passes the real actionlint, and every chaoskit and demo
command line in both examples parses with the real CLIs (so an option renamed in chaoskit breaks this test)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoskit.cli import cli

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"


def actionlint() -> Path:
    found = subprocess.run(["bash", str(ROOT / "scripts" / "setup-actionlint.sh")], capture_output=True, text=True)
    path = Path(found.stdout.strip().splitlines()[-1]) if found.returncode == 0 and found.stdout.strip() else None
    if path is None or not path.exists():
        message = f"actionlint could not be installed (scripts/setup-actionlint.sh): {found.stderr[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_the_github_workflow_passes_actionlint() -> None:
    result = subprocess.run(
        [str(actionlint()), "-no-color", str(CI / "github-actions.yml")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _commands() -> list[list[str]]:
    lines: list[str] = []
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    for step in workflow["jobs"]["gameday"]["steps"]:
        if "run" in step:
            lines.append(" ".join(step["run"].split()))
    lines += yaml.safe_load((CI / "gitlab-ci.yml").read_text())["resilience"]["script"]
    return [shlex.split(line.split(" > ")[0]) for line in lines]


def test_every_command_line_parses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from shop import gameday

    monkeypatch.chdir(tmp_path)  # the folders the commands name, as the job has them
    (tmp_path / "resilience-baseline").mkdir()
    (tmp_path / "gameday" / "runs").mkdir(parents=True)

    seen: list[Any] = []
    monkeypatch.setattr(gameday, "run_gameday", lambda *args: seen.append(args) or 0)
    commands = _commands()
    assert len(commands) == 4
    for argv in commands:
        if argv[0] == "./scripts/demo":
            with pytest.raises(SystemExit) as stop:
                gameday.main(argv[1:])
            assert stop.value.code == 0
        else:
            assert argv[0].endswith("chaoskit"), argv
            ctx = cli.make_context("chaoskit", argv[1:], resilient_parsing=False)
            sub = cli.get_command(ctx, argv[1])
            assert sub is not None, argv
            sub.make_context(argv[1], argv[2:])  # raises on an unknown or malformed option
    assert [a[0] for a in seen] == [Path("gameday"), Path("gameday")]
