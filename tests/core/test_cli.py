from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from tests.conftest import HttpService

Cli = Callable[..., CompletedProcess[str]]

GOOD = """\
title: cli
steady_state:
  probes:
    - probe: http
      with: {{url: "{url}/health"}}
      expect: {{status: 200}}
method:
  - fault: testkit.marker
    with: {{path: marker}}
    duration: 100ms
recovery: {{within: 2s, interval: 100ms}}
"""


def test_help_teaches_with_examples(cli: Cli) -> None:
    top = cli("--help")
    assert top.returncode == 0 and "chaoskit run my-experiment.yaml" in top.stdout
    run = cli("run", "--help")
    assert "Exit codes: 0 passed, 1 deviated" in run.stdout and "--dry-run" in run.stdout
    for command in ("validate", "list", "schema", "rollback", "init"):
        result = cli(command, "--help")
        assert result.returncode == 0 and "Examples:" in result.stdout, command
    assert cli().returncode == 0  # bare `chaoskit` shows help


def test_usage_errors_have_their_own_exit_code(cli: Cli) -> None:
    result = cli("run")
    assert result.returncode == 64 and "Missing argument" in result.stderr
    assert cli("frobnicate").returncode == 64
    assert cli("run", "x.yaml", "--var", "novalue").returncode == 64


def test_validate_exit_codes_and_json(cli: Cli, tmp_path: Path, http_service: HttpService) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD.format(url=http_service.url))
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: bad\nmethod:\n  - fault: testkit.marker\n    with: {pathh: x}\n")
    assert cli("validate", str(good)).returncode == 0
    result = cli("validate", str(bad))
    assert result.returncode == 5
    assert "method[0].with.pathh: unknown key" in result.stderr and "bad.yaml:4" in result.stderr
    report = json.loads(cli("validate", str(tmp_path), "--json").stdout)
    assert {r["file"].rsplit("/", 1)[1]: r["valid"] for r in report} == {"bad.yaml": False, "good.yaml": True}


def test_run_json_verdict_and_game_day_of_several_files(cli: Cli, tmp_path: Path, http_service: HttpService) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.format(url=http_service.url))
    (tmp_path / "b.yaml").write_text(GOOD.format(url=http_service.url + "/broken"))  # 200 everywhere: passes
    (tmp_path / "c.yaml").write_text("title: broken\n")
    one = cli("run", "a.yaml", "--json", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    verdict = json.loads(one.stdout)
    assert verdict["outcome"] == "passed" and verdict["ttr_s"] == 0.0
    assert (tmp_path / verdict["journal"]).exists()
    many = cli("run", ".", "--json", cwd=tmp_path)
    runs = json.loads(many.stdout)["runs"]
    assert [r["outcome"] for r in runs] == ["passed", "passed", "invalid"]
    assert many.returncode == 5
    assert "game day: 3 of 3 experiments run" in many.stderr
    fast = cli("run", "c.yaml", "a.yaml", "--fail-fast", "--json", cwd=tmp_path)
    assert [r["outcome"] for r in json.loads(fast.stdout)["runs"]] == ["invalid"]


def test_dry_run_shows_what_would_be_touched(cli: Cli, tmp_path: Path, http_service: HttpService) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.format(url=http_service.url))
    result = cli("run", "a.yaml", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "would inject testkit.marker" in result.stderr and str(tmp_path / "marker") in result.stderr
    assert not (tmp_path / "marker").exists()


def test_list_schema_init(cli: Cli, tmp_path: Path) -> None:
    listing = cli("list")
    assert "testkit.marker" in listing.stdout and "http" in listing.stdout
    faults = json.loads(cli("list", "--kind", "fault", "--json").stdout)
    marker = next(p for p in faults if p["name"] == "testkit.marker")
    assert {p["name"] for p in marker["params"]} >= {"path", "inject_delay"}
    schema = json.loads(cli("schema").stdout)
    assert schema["title"] == "chaoskit experiment" and "method" in schema["properties"]
    target = tmp_path / "new.yaml"
    assert cli("init", str(target)).returncode == 0
    assert cli("validate", str(target)).returncode == 0
    again = cli("init", str(target))
    assert again.returncode == 64 and "exists" in again.stderr


def test_a_dry_run_never_says_passed(cli: Cli, tmp_path: Path, http_service: HttpService) -> None:
    (tmp_path / "exp.yaml").write_text(GOOD.format(url=http_service.url))
    summary = tmp_path / "summary.md"
    result = cli(
        "run", "exp.yaml", "--dry-run", "--json", "--summary-md", str(summary), "--out", "runs", cwd=tmp_path
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["outcome"] == "dry-run" and verdict["dry_run"] is True and verdict["exit_code"] == 0, verdict
    assert "DRY RUN OK" in result.stderr and "PASSED" not in result.stderr
    text = summary.read_text()
    assert "dry-run" in text and "passed" not in text.lower(), text
    journal = json.loads((tmp_path / verdict["journal"]).read_text())
    assert journal["outcome"] == "dry-run" and journal["dry_run"] is True and journal["exit_code"] == 0
    assert http_service.state.hits == 0 and not (tmp_path / "marker").exists()  # nothing probed or injected
    real = cli("run", "exp.yaml", "--json", "--out", "runs", cwd=tmp_path)
    assert json.loads(real.stdout)["dry_run"] is False and json.loads(real.stdout)["outcome"] == "passed"
