"""chaostoxi calls in a CTK experiment run on chaoskit's toxiproxy plugin against a real toxiproxy-server:
the toxic keeps its CTK name, the experiment's own rollbacks revert the ledger entries (no double revert), and
whatever the rollbacks do not undo (strategy never, SIGTERM) is reverted anyway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from chaoskit_toxiproxy import ToxiproxyClient

from tests.conftest import CHAOSKIT, run_cli
from tests.toxiproxy.toxinet import EchoServer

TOXI = "chaostoxi.toxic.actions"
PROXY = "chaostoxi.proxy.actions"


def call(name: str, module: str, func: str, kind: str = "action", **arguments: Any) -> dict[str, Any]:
    provider = {"type": "python", "module": module, "func": func, "arguments": arguments}
    return {"type": kind, "name": name, "provider": provider}


def experiment(tmp_path: Path, method: list[dict[str, Any]], rollbacks: list[dict[str, Any]]) -> Path:
    doc = {
        "version": "1.0.0",
        "title": "chaostoxi on chaoskit",
        "description": "toxics and a disabled proxy, rolled back by the experiment",
        "configuration": {"toxiproxy_url": {"type": "env", "key": "TOXIPROXY_URL"}},
        "steady-state-hypothesis": {
            "title": "the proxy exists",
            "probes": [
                call("proxy exists", "chaostoxi.proxy.probes", "proxy_exist", "probe", proxy_name="ctkdb")
                | {"tolerance": True}
            ],
        },
        "method": method,
        "rollbacks": rollbacks,
    }
    path = tmp_path / "toxi.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def inject() -> list[dict[str, Any]]:
    return [
        call("slow", TOXI, "create_latency_toxic", for_proxy="ctkdb", toxic_name="slow-db", latency=200, jitter=5),
        call("down", PROXY, "disable_proxy", proxy_name="ctkdb"),
        call(
            "toxics now",
            "chaostoxi.proxy.probes",
            "get_proxy_attribute",
            "probe",
            proxy_name="ctkdb",
            attribute="toxics",
        ),
        call(
            "enabled now",
            "chaostoxi.proxy.probes",
            "get_proxy_attribute",
            "probe",
            proxy_name="ctkdb",
            attribute="enabled",
        ),
    ]


def rollbacks() -> list[dict[str, Any]]:
    return [
        call("remove slow", TOXI, "delete_toxic", for_proxy="ctkdb", toxic_name="slow-db"),
        call("enable", PROXY, "enable_proxy", proxy_name="ctkdb"),
    ]


def run(path: Path, tmp_path: Path, url: str, *flags: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = run_cli(
        "run",
        str(path),
        "--journal-path",
        str(tmp_path / "ctk.json"),
        "--out",
        str(tmp_path / "runs"),
        *flags,
        env={"TOXIPROXY_URL": url},
    )
    return proc, json.loads((tmp_path / "ctk.json").read_text())


def native_journal(tmp_path: Path) -> dict[str, Any]:
    (path,) = (tmp_path / "runs").glob("*/journal.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_toxics_keep_their_name_and_the_experiments_rollbacks_revert_them(
    toxiproxy: ToxiproxyClient, echo: EchoServer, tmp_path: Path, isolated_state: Path
) -> None:
    toxiproxy.create_proxy("ctkdb", "127.0.0.1:0", echo.address)
    proc, ctk = run(experiment(tmp_path, inject(), rollbacks()), tmp_path, toxiproxy.url)
    assert proc.returncode == 0, proc.stderr
    outputs = {r["activity"]["name"]: r for r in ctk["run"]}
    assert [r["status"] for r in ctk["run"]] == ["succeeded"] * 4
    (toxic,) = outputs["toxics now"]["output"]
    assert toxic["name"] == "slow-db" and toxic["attributes"] == {"latency": 200, "jitter": 5}
    assert outputs["enabled now"]["output"] is False
    assert [r["status"] for r in ctk["rollbacks"]] == ["succeeded", "succeeded"]
    proxy = toxiproxy.proxy("ctkdb")
    assert proxy.enabled and proxy.toxics == ()
    journal = native_journal(tmp_path)
    faults = journal["faults"]
    trace = json.loads(Path(journal["artifacts"]["trace"]).read_text())
    spans = {s["name"] for rs in trace["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]}
    assert {"before", "method", "rollbacks", "fault slow-db", "fault disable ctkdb", "action slow"} <= spans
    assert [(f["plugin"], f["name"]) for f in faults] == [
        ("toxiproxy.latency", "slow-db"),
        ("toxiproxy.down", "disable ctkdb"),
    ]
    assert all(f["reverted_at"] and not f["revert_error"] for f in faults)
    assert not list((isolated_state / "ledger").glob("*.json"))  # every entry reverted once: the ledger is closed


def test_faults_the_rollbacks_do_not_undo_are_reverted_anyway(
    toxiproxy: ToxiproxyClient, echo: EchoServer, tmp_path: Path
) -> None:
    toxiproxy.create_proxy("ctkdb", "127.0.0.1:0", echo.address)
    proc, ctk = run(
        experiment(tmp_path, inject(), rollbacks()), tmp_path, toxiproxy.url, "--rollback-strategy", "never"
    )
    assert proc.returncode == 0, proc.stderr
    assert ctk["rollbacks"] == []
    proxy = toxiproxy.proxy("ctkdb")
    assert proxy.enabled and proxy.toxics == ()


def test_sigterm_mid_method_reverts_the_toxic(toxiproxy: ToxiproxyClient, echo: EchoServer, tmp_path: Path) -> None:
    toxiproxy.create_proxy("ctkdb", "127.0.0.1:0", echo.address)
    method = [
        call("slow", TOXI, "create_latency_toxic", for_proxy="ctkdb", toxic_name="slow-db", latency=100),
        {"type": "action", "name": "hold", "provider": {"type": "process", "path": "sleep", "arguments": ["30"]}},
    ]
    path = experiment(tmp_path, method, rollbacks())
    proc = subprocess.Popen(
        [CHAOSKIT, "run", str(path), "--journal-path", str(tmp_path / "ctk.json"), "--out", str(tmp_path / "runs")],
        env={**os.environ, "TOXIPROXY_URL": toxiproxy.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not toxiproxy.proxy("ctkdb").toxics and time.monotonic() < deadline:
        time.sleep(0.05)
    assert toxiproxy.proxy("ctkdb").toxics, "the toxic was never injected"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert toxiproxy.proxy("ctkdb").toxics == ()
    assert json.loads((tmp_path / "ctk.json").read_text())["status"] == "interrupted"


def test_an_unmapped_extension_call_is_named(tmp_path: Path) -> None:
    method = [call("modify", PROXY, "modify_proxy", proxy_name="ctkdb", enabled=False)]
    proc = run_cli("validate", str(experiment(tmp_path, method, [])), env={"TOXIPROXY_URL": "http://127.0.0.1:1"})
    assert proc.returncode == 5
    assert "chaostoxi.proxy.actions.modify_proxy" in proc.stderr and "no chaoskit equivalent" in proc.stderr


def test_sigkill_of_the_runner_the_guardian_reverts_the_toxic(
    toxiproxy: ToxiproxyClient, echo: EchoServer, tmp_path: Path
) -> None:
    toxiproxy.create_proxy("ctkdb", "127.0.0.1:0", echo.address)
    method = [
        call("slow", TOXI, "create_latency_toxic", for_proxy="ctkdb", toxic_name="slow-db", latency=100),
        {"type": "action", "name": "hold", "provider": {"type": "process", "path": "sleep", "arguments": ["20"]}},
    ]
    path = experiment(tmp_path, method, rollbacks())
    proc = subprocess.Popen(
        [CHAOSKIT, "run", str(path), "--journal-path", str(tmp_path / "ctk.json"), "--out", str(tmp_path / "runs")],
        env={**os.environ, "TOXIPROXY_URL": toxiproxy.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not toxiproxy.proxy("ctkdb").toxics and time.monotonic() < deadline:
        time.sleep(0.05)
    assert toxiproxy.proxy("ctkdb").toxics, "the toxic was never injected"
    time.sleep(0.5)  # the guardian starts before the inject; let it settle
    proc.kill()
    proc.communicate(timeout=10)
    deadline = time.monotonic() + 20
    while toxiproxy.proxy("ctkdb").toxics and time.monotonic() < deadline:
        time.sleep(0.1)
    assert toxiproxy.proxy("ctkdb").toxics == (), "the guardian did not revert the toxic"
