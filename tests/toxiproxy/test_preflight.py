"""Preflight: `validate --preflight` and `run --dry-run` find what a real run would trip over -- with real
processes, sockets, a real Toxiproxy server and real locustfiles imported in a child -- every problem at once
with its path, exit code 6; and nothing is changed by looking."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chaoskit_toxiproxy import ToxiproxyClient, ToxiproxyServer

from chaoskit.errors import PreflightFailed
from chaoskit.loader import validate_document
from chaoskit.ports import free_port
from chaoskit.preflight import preflight
from tests.conftest import run_cli
from tests.e2e import write
from tests.load.loadkit import write_locustfile
from tests.toxiproxy.toxinet import EchoServer


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (tmp_path / "app.pid").write_text(f"{proc.pid}\n")
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def listener() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def experiment(toxiproxy_url: str, **load: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": "preflight",
        "toxiproxy": {
            "url": toxiproxy_url,
            "proxies": [{"name": "declared", "listen": f"127.0.0.1:{free_port()}", "upstream": "127.0.0.1:9"}],
        },
        "method": [
            {"fault": "toxiproxy.latency", "with": {"proxy": "db", "latency_ms": 100}, "duration": "1s"},
            {"fault": "toxiproxy.latency", "with": {"proxy": "declared", "latency_ms": 100}, "duration": "1s"},
            {"fault": "host.kill", "with": {"pidfile": "app.pid"}},
            {"fault": "host.pause", "with": {"name": "no-such-process-xyz"}},
            {"fault": "host.kill", "with": {"port": free_port(), "signal": "SIGTERM"}},
        ],
    }
    if load:
        doc["load"] = {"driver": "locust", "host": "http://127.0.0.1:9", **load}
    return doc


def test_every_problem_at_once_with_its_path(
    tmp_path: Path, toxiproxy: ToxiproxyClient, toxiproxy_server: ToxiproxyServer
) -> None:
    (tmp_path / "app.pid").write_text("999999999\n")  # no such process
    path = write(tmp_path, experiment(toxiproxy_server.url, locustfile="missing.py"))
    for args in (("validate", "--preflight", str(path)), ("run", "--dry-run", str(path), "--out", str(tmp_path))):
        result = run_cli(*args)
        assert result.returncode == 6, result.stderr
        assert "failed preflight" in result.stderr and "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
        shown = "\n".join(lines)
        assert "method[0].with: Toxiproxy at" in shown and "has no proxy 'db'" in shown
        assert "method[1]" not in shown  # declared: created at run start
        assert "method[2].with: no process matches pidfile='app.pid'" in shown
        assert "method[3].with: no process matches name='no-such-process-xyz'" in shown
        assert "method[4].with: no process matches port=" in shown and "nothing listens on TCP port" in shown
        assert f"load: locustfile: no such file: {tmp_path / 'missing.py'}" in shown
        assert len(lines) == 5
        assert f"{path}:21: method[2].with: no process matches" in shown  # with the step's file line
    assert toxiproxy.proxies() == {}  # looking changed nothing: the declared proxy was not created
    assert not list(tmp_path.glob("*/journal.json"))  # a failed preflight runs nothing


def test_a_ready_system_passes_and_the_dry_run_goes_on(
    tmp_path: Path,
    toxiproxy: ToxiproxyClient,
    toxiproxy_server: ToxiproxyServer,
    echo: EchoServer,
    sleeper: subprocess.Popen[bytes],
    listener: int,
) -> None:
    toxiproxy.create_proxy("db", f"127.0.0.1:{free_port()}", f"127.0.0.1:{echo.port}")
    doc = experiment(toxiproxy_server.url, locustfile=str(write_locustfile(tmp_path)), user_classes=["Web"])
    doc["method"][3]["with"] = {"pidfile": "app.pid"}
    doc["method"][4]["with"] = {"port": listener, "signal": "SIGTERM", "allow_no_match": True}
    path = write(tmp_path, doc)
    result = run_cli("validate", "--preflight", str(path))
    assert result.returncode == 0, result.stderr
    assert "is valid and passed preflight" in result.stderr
    result = run_cli("run", "--dry-run", "--json", str(path), "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "dry-run"
    assert sleeper.poll() is None  # nothing was killed or paused


def test_a_stopped_toxiproxy_is_one_problem_per_fault(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    doc = experiment(url)
    doc["method"] = doc["method"][:2]
    with pytest.raises(PreflightFailed) as info:
        preflight(validate_document(doc, source=str(tmp_path / "exp.yaml")), timeout=10)
    assert [p.path for p in info.value.problems] == ["method[0].with", "method[1].with"]
    assert all(url in p.message for p in info.value.problems)


def test_a_declared_proxy_whose_listen_address_is_in_use(
    tmp_path: Path, toxiproxy: ToxiproxyClient, toxiproxy_server: ToxiproxyServer, listener: int
) -> None:
    doc = experiment(toxiproxy_server.url)
    doc["toxiproxy"]["proxies"][0]["listen"] = f"127.0.0.1:{listener}"  # another process listens there
    doc["method"] = doc["method"][1:2]  # the fault on the declared proxy
    path = write(tmp_path, doc)
    result = run_cli("validate", "--preflight", str(path))
    assert result.returncode == 6, result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1, result.stderr
    assert f"toxiproxy: proxies[0].listen: proxy 'declared' cannot listen on 127.0.0.1:{listener}" in problems[0]
    assert "in use" in problems[0]
    assert toxiproxy.proxies() == {}  # looking changed nothing
    result = run_cli("run", str(path), "--out", str(tmp_path / "runs"))
    assert result.returncode == 4, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error in" in line]
    assert len(errors) == 1 and "hook chaoskit_run_started (toxiproxy)" in errors[0], result.stderr
    journal = json.loads(next(tmp_path.glob("runs/*/journal.json")).read_text())
    assert [e["where"] for e in journal["errors"]] == ["hook chaoskit_run_started (toxiproxy)"]
