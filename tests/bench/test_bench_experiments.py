"""The benchmark's experiment files are valid and describe the same experiment in both formats."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import chaoskit
from tests.conftest import ROOT, run_cli


def bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("core_vs_chaostoolkit", ROOT / "bench" / "core_vs_chaostoolkit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_both_formats_hold_the_same_experiment(tmp_path: Path) -> None:
    ck_path, ctk_path = bench_module().write_experiments(tmp_path, "http://127.0.0.1:8080")
    loaded = chaoskit.load_experiment(ck_path)
    exp = loaded.experiment
    ctk = json.loads(ctk_path.read_text())

    ck_probes = [(p.label, p.with_["url"], p.expect.status if p.expect else None) for p in exp.steady_state.probes]
    ctk_probes = [(p["name"], p["provider"]["url"], [p["tolerance"]]) for p in ctk["steady-state-hypothesis"]["probes"]]
    assert (
        ck_probes
        == ctk_probes
        == [
            ("health", "http://127.0.0.1:8080/health", [200]),
            ("ready", "http://127.0.0.1:8080/ready", [200]),
        ]
    )
    for ck_steps, ctk_steps in ((exp.method, ctk["method"]), (exp.rollbacks, ctk["rollbacks"])):
        assert len(ck_steps) == len(ctk_steps) == 1
        (step,), (activity,) = ck_steps, ctk_steps
        assert step.action == "process" and activity["provider"]["type"] == "process"
        assert step.label == activity["name"]
        assert step.with_["command"] == [activity["provider"]["path"], *activity["provider"]["arguments"]]


def test_the_chaoskit_experiment_passes_against_the_bench_server(tmp_path: Path) -> None:
    bench = bench_module()
    server = bench.start_server()
    try:
        ck_path, _ = bench.write_experiments(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
        proc = run_cli("run", str(ck_path), "--json", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr
    journal = json.loads(Path(json.loads(proc.stdout)["journal"]).read_text())
    assert [a["name"] for a in journal["activities"]] == ["inject", "cleanup"]
    assert [o["probe"] for o in journal["observations"]] == ["health", "ready", "health", "ready"]
