"""CTK files beyond the verdict: recognised by shape, invalid files named problem by problem, secrets kept out
of every output, Ctrl-C/SIGTERM, and CTK-only flags refused on native experiments."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoskit.ctk.detect import is_ctk
from tests.conftest import CHAOSKIT, ROOT, run_cli
from tests.ctk.record_ctk import EXPERIMENTS, TOKEN, environment
from tests.ctk.service import Service


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    svc = Service()
    yield svc
    svc.close()


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=2))
    return path


def ctk_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "1.0.0",
        "title": "t",
        "description": "d",
        "method": [{"type": "action", "name": "echo", "provider": {"type": "process", "path": "echo"}}],
    }
    doc.update(overrides)
    return doc


def test_ctk_files_are_told_from_native_ones_by_shape() -> None:
    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        assert not is_ctk(yaml.safe_load(path.read_text())), path
    for path in sorted(EXPERIMENTS.glob("*.json")):
        assert is_ctk(json.loads(path.read_text())), path
    assert is_ctk({"title": "x", "method": [{"ref": "a"}]})
    assert not is_ctk({"title": "x", "method": [{"fault": "toxiproxy.latency"}]})


def test_invalid_ctk_file_lists_every_problem_with_path_and_line(tmp_path: Path) -> None:
    doc = ctk_doc(
        description="",
        method=[
            {"type": "action", "name": "a", "provider": {"type": "process", "path": "no-such-binary-xyz"}},
            {"ref": "missing"},
        ],
    )
    path = write(tmp_path / "bad.json", doc)
    proc = run_cli("validate", str(path))
    assert proc.returncode == 5
    assert "description" in proc.stderr
    assert "bad.json:4" in proc.stderr  # the line of the empty description

    doc = ctk_doc(
        **{
            "steady-state-hypothesis": {
                "title": "h",
                "probes": [
                    {"type": "probe", "name": "p", "tolerance": 0.5, "provider": {"type": "process", "path": "true"}},
                    {"type": "probe", "name": "q", "provider": {"type": "process", "path": "true"}, "colour": "red"},
                ],
            }
        }
    )
    proc = run_cli("validate", str(write(tmp_path / "bad2.json", doc)))
    assert proc.returncode == 5
    assert "steady-state-hypothesis.probes[0]" in proc.stderr and "tolerance" in proc.stderr
    assert "steady-state-hypothesis.probes[1].colour: unknown key" in proc.stderr

    doc = ctk_doc(
        method=[
            {"type": "action", "name": "a", "provider": {"type": "process", "path": "no-such-binary-xyz"}},
            {"type": "action", "name": "b", "provider": {"type": "python", "module": "ctkfuncs", "func": "nope"}},
            {
                "type": "action",
                "name": "c",
                "provider": {"type": "python", "module": "ctkfuncs", "func": "give", "arguments": {"x": 1}},
            },
        ],
        runtime={"rollbacks": {"strategy": "sometimes"}},
    )
    path = write(tmp_path / "bad3.json", doc)
    proc = run_cli(
        "run",
        str(path),
        "--journal-path",
        str(tmp_path / "j.json"),
        cwd=EXPERIMENTS,
        env={"PYTHONPATH": str(EXPERIMENTS)},
    )
    assert proc.returncode == 5, proc.stderr
    for text in (
        "method[0].provider.path",
        "no-such-binary-xyz",
        "method[1].provider",
        "'nope'",
        "method[2].provider.arguments",
        "runtime.rollbacks.strategy",
    ):
        assert text in proc.stderr, text
    assert not (tmp_path / "j.json").exists()


def test_secrets_never_reach_journals_reports_or_terminal(service: Service, tmp_path: Path) -> None:
    doc = ctk_doc(
        configuration={"base_url": {"type": "env", "key": "CTKTEST_URL"}},
        secrets={"api": {"token": {"type": "env", "key": "CTKTEST_TOKEN"}, "inline": "inline-s3cret"}},
        method=[
            {
                "type": "action",
                "name": "leak it",
                "provider": {"type": "process", "path": "echo", "arguments": ["${token}", "${inline}"]},
            },
            {
                "type": "action",
                "name": "raise it",
                "provider": {
                    "type": "python",
                    "module": "ctkfuncs",
                    "func": "boom",
                    "arguments": {"message": "token=${token}"},
                },
            },
            {
                "type": "action",
                "name": "header",
                "provider": {"type": "http", "url": "${base_url}/echo", "headers": {"Authorization": "${token}"}},
            },
        ],
    )
    path = write(tmp_path / "secret.json", doc)
    out = tmp_path / "runs"
    proc = run_cli(
        "run",
        str(path),
        "--journal-path",
        str(tmp_path / "ctk.json"),
        "--out",
        str(out),
        cwd=EXPERIMENTS,
        env=environment(service.url),
    )
    assert proc.returncode == 0, proc.stderr
    ctk = json.loads((tmp_path / "ctk.json").read_text())
    assert [r["status"] for r in ctk["run"]] == ["succeeded", "failed", "succeeded"]
    assert ctk["run"][2]["output"]["body"]["auth_length"] == len(TOKEN)  # the real token was sent
    texts = [proc.stdout, proc.stderr, (tmp_path / "ctk.json").read_text()]
    texts += [p.read_text() for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in out.rglob("*")} >= {"journal.json", "report.html", "trace.json"}
    for text in texts:
        assert TOKEN not in text and "inline-s3cret" not in text
    assert "***" in (tmp_path / "ctk.json").read_text()


def test_a_secret_too_short_to_hide_is_invalid(tmp_path: Path) -> None:
    path = write(tmp_path / "e.json", ctk_doc(secrets={"api": {"pin": "1234"}}))
    proc = run_cli("validate", str(path))
    assert proc.returncode == 5
    assert "secrets.api.pin" in proc.stderr and "1234" not in proc.stderr


def test_ctk_flags_on_a_native_experiment_are_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli(
        "run",
        str(ROOT / "experiments" / sorted(os.listdir(ROOT / "experiments"))[0]),
        "--rollback-strategy",
        "always",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 64
    assert "--rollback-strategy: only for Chaos Toolkit experiments" in proc.stderr


def test_bad_ctk_var_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path / "e.json", ctk_doc(configuration={"n": 1}))
    proc = run_cli("run", str(path), "--var", "n:int=abc", "--journal-path", str(tmp_path / "j.json"))
    assert proc.returncode == 64
    assert "n:int=abc" in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_interrupts_the_run_and_skips_rollbacks_as_ctk_does(tmp_path: Path, sig: signal.Signals) -> None:
    marker = tmp_path / "rolled-back"
    started = tmp_path / "started"
    hold = {"type": "process", "path": "sh", "arguments": ["-c", f"touch {started}; sleep 30"]}
    doc = ctk_doc(
        method=[{"type": "action", "name": "long", "provider": hold}],
        rollbacks=[
            {
                "type": "action",
                "name": "mark",
                "provider": {"type": "process", "path": "touch", "arguments": [str(marker)]},
            }
        ],
    )
    path = write(tmp_path / "long.json", doc)
    journal = tmp_path / "ctk.json"
    proc = subprocess.Popen(
        [CHAOSKIT, "run", str(path), "--journal-path", str(journal), "--out", str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the method never started"
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    data = json.loads(journal.read_text())
    assert data["status"] == "interrupted"
    assert data["rollbacks"] == [] and not marker.exists()


def test_a_halted_chaoskit_refuses_ctk_runs_and_a_halt_stops_a_running_one(tmp_path: Path) -> None:
    proc = run_cli("halt", "--reason", "freeze")
    assert proc.returncode == 0, proc.stderr
    path = write(tmp_path / "e.json", ctk_doc())
    proc = run_cli("run", str(path), "--journal-path", str(tmp_path / "refused.json"), "--out", str(tmp_path / "r"))
    assert proc.returncode == 3, proc.stderr
    refused = json.loads((tmp_path / "refused.json").read_text())
    assert (
        refused["status"] == "aborted" and refused["run"] == [] and "refused to start" in refused["chaoskit"]["reason"]
    )
    assert run_cli("halt", "--release").returncode == 0

    started, marker = tmp_path / "started", tmp_path / "rolled-back"
    doc = ctk_doc(
        method=[
            {
                "type": "action",
                "name": "mark the start",
                "provider": {"type": "process", "path": "touch", "arguments": [str(started)]},
                "pauses": {"after": 60},
            },
            {"type": "action", "name": "never", "provider": {"type": "process", "path": "true"}},
        ],
        rollbacks=[
            {
                "type": "action",
                "name": "mark",
                "provider": {"type": "process", "path": "touch", "arguments": [str(marker)]},
            }
        ],
    )
    journal = tmp_path / "ctk.json"
    proc = subprocess.Popen(
        [
            CHAOSKIT,
            "run",
            str(write(tmp_path / "long.json", doc)),
            "--journal-path",
            str(journal),
            "--out",
            str(tmp_path / "r"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the method never started"
    halted_at = time.monotonic()
    assert run_cli("halt", "--reason", "stop it").returncode == 0
    try:
        _, stderr = proc.communicate(timeout=30)
    finally:
        run_cli("halt", "--release")
    assert proc.returncode == 3, stderr
    assert time.monotonic() - halted_at < 50  # well before the 60 s pause would have ended
    data = json.loads(journal.read_text())
    assert data["status"] == "aborted" and [r["activity"]["name"] for r in data["run"]] == ["mark the start"]
    assert "stop it" in data["chaoskit"]["reason"] and marker.exists()  # rollbacks are played, as for "aborted"


def test_several_ctk_files_in_one_run_get_one_ctk_journal_each(tmp_path: Path) -> None:
    ok = write(tmp_path / "ok.json", ctk_doc())
    miss = ctk_doc(
        **{
            "steady-state-hypothesis": {
                "title": "h",
                "probes": [
                    {"type": "probe", "name": "p", "tolerance": True, "provider": {"type": "process", "path": "false"}}
                ],
            }
        }
    )
    failing = write(tmp_path / "fails.json", miss | {"rollbacks": []})
    proc = run_cli(
        "run", str(ok), str(failing), "--journal-path", str(tmp_path / "j.json"), "--out", str(tmp_path / "r")
    )
    assert proc.returncode == 0, proc.stderr  # a tolerance miss before the method: CTK's status completed, exit 0
    assert json.loads((tmp_path / "j-ok.json").read_text())["status"] == "completed"
    gate = json.loads((tmp_path / "j-fails.json").read_text())
    assert (
        gate["steady_states"]["before"]["steady_state_met"] is False
        and gate["chaoskit"]["outcome"] == "baseline-not-met"
    )
