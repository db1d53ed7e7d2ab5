"""``chaoskit import``: a CTK experiment becomes a valid native experiment with `# ctk:` comments on what changes,
and the imported experiment runs with the verdict the original gets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from tests.ctk.record_ctk import EXPERIMENTS, environment
from tests.ctk.service import Service


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    svc = Service()
    yield svc
    svc.close()


def test_imported_experiment_is_valid_and_passes_like_the_original(service: Service, tmp_path: Path) -> None:
    out = tmp_path / "basic.yaml"
    env = environment(service.url)
    proc = run_cli("import", "basic-pass.json", "-o", str(out), cwd=EXPERIMENTS, env=env)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    native = yaml.safe_load(text)
    assert native["steady_state"]["probes"][0] == {
        "name": "health is 200",
        "probe": "http",
        "with": {"url": "${base_url}/health", "timeout": "5s"},
        "expect": {"status": 200},
    }
    assert "# ctk: a non-zero exit fails this native step" in text
    assert [s.get("action") or s.get("probe") for s in native["method"]] == ["process", "http", "python"]
    proc = run_cli("run", str(out), "--out", str(tmp_path / "runs"), "--json", cwd=EXPERIMENTS, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "passed"


def test_tolerances_and_strategies_are_translated_or_commented(service: Service, tmp_path: Path) -> None:
    env = environment(service.url)
    proc = run_cli("import", "tolerances.json", cwd=EXPERIMENTS, env=env)
    assert proc.returncode == 0, proc.stderr
    native = yaml.safe_load(proc.stdout)
    expects = {p["name"]: p["expect"] for p in native["steady_state"]["probes"]}
    assert expects["status in a list"] == {"status": [200, 204]}
    assert expects["two-item list is a range"] == {"min": 1, "max": 10}
    assert expects["three items: membership"] == {"one_of": [1, 2, 3]}
    assert expects["jsonpath scalar"] == {"jsonpath": "$.status", "equals": "up"}
    assert expects["range type"] == {"min": 0, "max": 1}
    assert "a probe as tolerance" not in expects  # no native equivalent: left out, and said so
    assert "# ctk: probe 'a probe as tolerance' is left out" in proc.stdout

    proc = run_cli("import", "runtime-block.json", cwd=EXPERIMENTS, env=env)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout)["steady_state"]["strategy"] == "before"
    assert "# ctk: rollback strategy 'never'" in proc.stdout


def test_extension_faults_become_native_faults_and_their_undo_rollbacks_are_dropped(tmp_path: Path) -> None:
    doc = {
        "title": "slow db",
        "description": "latency on the db proxy",
        "method": [
            {
                "type": "action",
                "name": "slow",
                "provider": {
                    "type": "python",
                    "module": "chaostoxi.toxic.actions",
                    "func": "create_latency_toxic",
                    "arguments": {"for_proxy": "db", "toxic_name": "slow", "latency": 300},
                },
            }
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": "unslow",
                "provider": {
                    "type": "python",
                    "module": "chaostoxi.toxic.actions",
                    "func": "delete_toxic",
                    "arguments": {"for_proxy": "db", "toxic_name": "slow"},
                },
            }
        ],
    }
    path = tmp_path / "toxi.json"
    path.write_text(json.dumps(doc))
    proc = run_cli("import", str(path))
    assert proc.returncode == 0, proc.stderr
    native = yaml.safe_load(proc.stdout)
    assert native["method"] == [
        {"name": "slow", "fault": "toxiproxy.latency", "with": {"proxy": "db", "latency_ms": 300}}
    ]
    assert native["rollbacks"] == []
    assert "rollback 'unslow' (chaostoxi.toxic.actions.delete_toxic) is dropped" in proc.stdout


def test_import_of_an_invalid_ctk_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"title": "t", "description": "d", "method": [{"type": "action", "name": "x"}]}))
    proc = run_cli("import", str(path))
    assert proc.returncode == 5
    assert "method[0]" in proc.stderr and "provider" in proc.stderr
