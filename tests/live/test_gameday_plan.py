"""``chaoskit gameday PLAN.yaml`` with real runs against a real HTTP service: steps in order, a parallel group
(really side by side), gates (``--yes``; a gate that is not passed stops the day; no terminal and no --yes is a
usage error), notes in the index, the stop rule, and a plan validated before anything runs."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from chaoskit.model.journal import Journal
from chaoskit.run.notes import GateAnswer
from chaoskit.run.plan import load_plan, run_plan
from chaoskit.runner import RunOptions
from tests.conftest import CHAOSKIT, HttpService


def experiment(folder: Path, name: str, url: str, pause: str = "1s") -> str:
    doc = {
        "title": f"plan step {name}",
        "configuration": {"url": url, "flag": str(folder / f"{name}.flag")},
        "steady_state": {"probes": [{"probe": "http", "with": {"url": "${url}"}, "expect": {"status": 200}}]},
        "method": [{"fault": "testkit.marker", "with": {"path": "${flag}"}, "duration": pause}],
    }
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    return f"{name}.yaml"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHAOSKIT, *args], cwd=cwd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False
    )


def test_a_plan_runs_in_order_with_a_parallel_group_gates_and_notes(tmp_path: Path, http_service: HttpService) -> None:
    steps: list[dict[str, Any]] = [
        {"experiment": experiment(tmp_path, "first", http_service.url), "vars": {"url": http_service.url}},
        {"gate": "Is the on-call watching?"},
        {"parallel": [{"experiment": experiment(tmp_path, n, http_service.url, "3s")} for n in ("left", "right")]},
    ]
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump({"title": "test day", "steps": steps}))
    result = run("gameday", "plan.yaml", "--yes", "--note", "release 4.2 candidate", "--out", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "gate passed (--yes): Is the on-call watching?" in result.stderr
    journals = {
        j["title"]: j
        for j in (
            Journal.model_validate_json(p.read_bytes()).model_dump() for p in (tmp_path / "runs").rglob("journal.json")
        )
    }
    assert set(journals) == {"plan step first", "plan step left", "plan step right"}
    left, right, first = journals["plan step left"], journals["plan step right"], journals["plan step first"]
    assert first["ended_at"] <= min(left["started_at"], right["started_at"])  # in order
    assert left["started_at"] < right["ended_at"] and right["started_at"] < left["ended_at"]  # side by side
    index = (tmp_path / "runs" / "index.html").read_text()
    assert "test day" in index and index.count("<tr><td>") == 3 and "release 4.2 candidate" in index
    # the day's timeline: three runs on one axis, the parallel pair side by side, each with its fault window
    runs = [(float(x), float(w)) for x, w in re.findall(r'class="run" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', index)]
    assert len(runs) == 3 and index.count('class="fault"') == 3 and index.count('class="gate"') == 1
    (first_x, first_w), (a_x, a_w), (b_x, b_w) = runs
    assert first_x + first_w <= min(a_x, b_x) and a_x < b_x + b_w and b_x < a_x + a_w
    assert "gate Is the on-call watching?: continue (--yes" in index


def test_gates_and_the_stop_rule(tmp_path: Path, http_service: HttpService) -> None:
    steps: list[dict[str, Any]] = [
        {"experiment": experiment(tmp_path, "one", http_service.url)},
        {"gate": "Go on to the outage?"},
        {"experiment": experiment(tmp_path, "two", http_service.url)},
    ]
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(yaml.safe_dump({"title": "gated day", "steps": steps}))
    plan = load_plan(plan_path)
    day = run_plan(
        plan,
        tmp_path,
        RunOptions(out_dir=tmp_path / "runs", handle_signals=False),
        lambda question: GateAnswer(False, "payments on-call is not here yet"),
    )
    assert [r.path.name for r in day.results] == ["one.yaml"]
    assert "the gate was not passed" in day.stopped
    assert "payments on-call is not here yet" in (tmp_path / "runs" / "index.html").read_text()

    no_terminal = run("gameday", "plan.yaml", cwd=tmp_path)
    assert no_terminal.returncode == 64 and "pass --yes" in no_terminal.stderr and "--serve" in no_terminal.stderr

    http_service.state.status = 500  # every step now fails its baseline: stop_when baseline-not-met stops the day
    plan_path.write_text(yaml.safe_dump({"title": "stop", "stop_when": ["baseline-not-met"], "steps": steps}))
    stopped = run("gameday", "plan.yaml", "--yes", "--out", "runs2", cwd=tmp_path)
    assert stopped.returncode == 2, stopped.stderr
    assert "the day stopped: steps[0]: one.yaml ended baseline-not-met" in " ".join(stopped.stderr.split())


def test_the_plan_and_its_experiments_are_validated_first(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("title: bad\nmethod: [{pause: soon}]\n")
    plan = {
        "title": "broken",
        "steps": [
            {"experiment": "bad.yaml"},
            {"gate": "x", "experiment": "bad.yaml"},
            {"parallel": [{"experiment": "bad.yaml"}]},
        ],
        "nope": 1,
    }
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    result = run("gameday", "plan.yaml", "--yes", cwd=tmp_path)
    assert result.returncode == 5, result.stderr
    assert "nope" in result.stderr and "steps[1]: exactly one of experiment, parallel or gate" in result.stderr
    plan = {"title": "bad experiment", "steps": [{"experiment": "bad.yaml"}]}
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    result = run("gameday", "plan.yaml", "--yes", cwd=tmp_path)
    assert result.returncode == 5 and "steps[0].experiment (bad.yaml:2): method[0].pause" in result.stderr
    assert not (tmp_path / "chaoskit-runs").exists()  # nothing ran


def test_each_plan_mistake_is_one_problem_with_its_line_and_a_hint(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("title: ok\nmethod: [{pause: 1s}]\n")
    (tmp_path / "plan.yaml").write_text(
        "title: typos\n"
        "steps:\n"
        "  - experiment: nothere.yaml\n"
        "  - experiment: ok.yaml\n"
        "    varz: {a: 1}\n"
        "  - paralel:\n"
        "      - experiment: ok.yaml\n"
    )
    result = run("gameday", "plan.yaml", "--yes", cwd=tmp_path)
    assert result.returncode == 5, result.stderr
    problems = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("- ")]
    assert problems == [
        "- plan.yaml:3: steps[0].experiment (nothere.yaml): no such file: nothere.yaml",
        "- plan.yaml:5: steps[1].varz: unknown key; did you mean 'vars'?",
        "- plan.yaml:7: steps[2].paralel: unknown key; did you mean 'parallel'?",
    ], result.stderr
    assert sys.executable  # (the CLI above is the project's own chaoskit)


def test_an_interrupted_step_says_so_once(tmp_path: Path, http_service: HttpService) -> None:
    plan = {"title": "cut short", "steps": [{"experiment": experiment(tmp_path, "long", http_service.url, "60s")}]}
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    proc = subprocess.Popen(
        [CHAOSKIT, "gameday", "plan.yaml", "--yes", "-q"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 60
        while not (tmp_path / "long.flag").exists() and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        assert (tmp_path / "long.flag").exists(), "the fault was never injected"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "long.yaml: interrupted by SIGINT" in stderr and "interrupted interrupted" not in stderr, stderr
