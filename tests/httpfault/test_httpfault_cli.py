"""End to end with the real CLI in a subprocess, the real HTTP fault proxy and a real upstream: declared proxies
are created and removed, rule hits land in the journal, SIGTERM and SIGKILL + `chaoskit rollback` leave nothing
behind, and a proxy process that is not running is a clear error."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from chaoskit_httpfault import HttpFaultClient, HttpFaultServer, ServerUnavailable
from chaoskit_httpfault.faults import AbortFault
from chaoskit_httpfault.section import HttpFaultSection

from chaoskit.plugin import Context
from chaoskit.ports import free_port
from tests.e2e import journal_of, ledgers, start_run, write
from tests.httpfault.conftest import add_proxy

Cli = Callable[..., subprocess.CompletedProcess[str]]


def experiment(url: str, port: int, upstream: str, hold: str = "30s", guardian: bool = True) -> dict[str, Any]:
    return {
        "title": "httpfault end to end",
        "httpfault": {"url": url, "proxies": [{"name": "made", "listen": f"127.0.0.1:{port}", "upstream": upstream}]},
        "steady_state": {
            "probes": [
                {
                    "probe": "http",
                    "with": {"url": f"http://127.0.0.1:{port}/echo", "timeout": "5s"},
                    "expect": {"status": 200},
                },
            ],
        },
        "method": [
            {
                "fault": "httpfault.abort",
                "with": {"proxy": "made", "status": 503, "match": {"methods": ["POST"], "path": "/payments*"}},
                "duration": hold,
            }
        ],
        "recovery": {"within": "10s", "interval": "250ms"},
        "safety": {"max_duration": "2m", "guardian": {"enabled": guardian}},
    }


@pytest.fixture
def exp_file(tmp_path: Path, httpfault: HttpFaultClient, upstream: str) -> Callable[..., tuple[Path, int]]:
    def make(hold: str = "30s", guardian: bool = True) -> tuple[Path, int]:
        port = free_port()
        path = write(tmp_path, experiment(httpfault.url, port, upstream, hold, guardian))
        return path, port

    return make


def wait_for_rule(client: HttpFaultClient, proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, f"the run ended early: {proc.communicate()}"
        rules = client.rules()
        if rules:
            return rules[0]
        time.sleep(0.05)
    raise AssertionError(f"the rule is not in place after {timeout}s")


@pytest.fixture
def traffic() -> Iterator[Callable[[int], list[int]]]:
    """traffic(port): POST /payments through the proxy in the background until the test ends; the statuses seen."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(port: int) -> list[int]:
        seen: list[int] = []

        def loop() -> None:
            with requests.Session() as s:
                for _ in range(2000):  # bounded
                    if stop.is_set():
                        return
                    try:
                        seen.append(s.post(f"http://127.0.0.1:{port}/payments", timeout=5).status_code)
                    except requests.RequestException:
                        seen.append(0)
                    time.sleep(0.05)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        threads.append(thread)
        return seen

    yield start
    stop.set()
    for thread in threads:
        thread.join(10)


def test_a_run_creates_its_proxy_records_hits_and_removes_everything(
    exp_file: Callable[..., tuple[Path, int]],
    httpfault: HttpFaultClient,
    isolated_state: Path,
    traffic: Callable[[int], list[int]],
) -> None:
    path, port = exp_file(hold="3s")
    proc = start_run(path)
    wait_for_rule(httpfault, proc)
    seen = traffic(port)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    journal = journal_of(path)
    assert journal["outcome"] == "passed"
    fault = journal["faults"][0]
    assert fault["plugin"] == "httpfault.abort" and fault["reverted_at"]
    assert "abort 503 on POST /payments*" in fault["target"]
    hits = fault["revert_info"]["hits"]
    assert hits["applied"] == hits["matched"] >= 1 and 503 in seen
    assert httpfault.rules() == [] and "made" not in httpfault.proxies()
    assert ledgers(isolated_state) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_fault_reverts_everything(
    sig: signal.Signals, exp_file: Callable[..., tuple[Path, int]], httpfault: HttpFaultClient, isolated_state: Path
) -> None:
    path, port = exp_file()
    proc = start_run(path)
    wait_for_rule(httpfault, proc)
    assert requests.post(f"http://127.0.0.1:{port}/payments", timeout=5).status_code == 503
    assert len(ledgers(isolated_state)) == 2  # the run's ledger and the proxies' one
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert journal_of(path)["outcome"] == "interrupted"
    assert httpfault.rules() == [] and "made" not in httpfault.proxies()
    assert ledgers(isolated_state) == []


def test_sigkill_mid_fault_the_guardian_reverts_everything(
    exp_file: Callable[..., tuple[Path, int]], httpfault: HttpFaultClient, isolated_state: Path
) -> None:
    path, port = exp_file()
    proc = start_run(path)
    wait_for_rule(httpfault, proc)
    proc.kill()
    proc.communicate(timeout=30)
    killed = time.monotonic()
    while httpfault.rules() or "made" in httpfault.proxies():
        assert time.monotonic() - killed < 10, "the guardian did not revert the rule and the proxy within 10 s"
        time.sleep(0.05)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"http://127.0.0.1:{port}/payments", timeout=5)


def test_sigkill_mid_fault_then_rollback(
    cli: Cli, exp_file: Callable[..., tuple[Path, int]], httpfault: HttpFaultClient, isolated_state: Path
) -> None:
    path, port = exp_file(guardian=False)  # nobody reverts for it: `chaoskit rollback` does
    proc = start_run(path)
    wait_for_rule(httpfault, proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert requests.post(f"http://127.0.0.1:{port}/payments", timeout=5).status_code == 503  # left behind...
    found = ledgers(isolated_state)
    assert len(found) == 2 and any(name.endswith(".httpfault.json") for name in found)  # ...with its ledgers
    first = cli("rollback")
    assert first.returncode == 0, first.stderr
    assert "reverted" in first.stderr and "httpfault proxies" in first.stderr
    assert httpfault.rules() == [] and "made" not in httpfault.proxies()
    assert ledgers(isolated_state) == []
    second = cli("rollback")
    assert second.returncode == 0 and "nothing to roll back" in second.stderr
    with pytest.raises(requests.ConnectionError):
        requests.post(f"http://127.0.0.1:{port}/payments", timeout=5)


def test_revert_removes_only_its_rule_and_is_idempotent(httpfault: HttpFaultClient, proxy: str) -> None:
    ctx = Context(run_id="mine", sections={"httpfault": HttpFaultSection(url=httpfault.url)})
    other = Context(run_id="other", sections=ctx.sections)
    fault = AbortFault()
    params = AbortFault.Params.model_validate({"proxy": "svc", "match": {"path": "/json"}})
    mine, theirs = fault.plan(params, ctx), fault.plan(params, other)
    assert httpfault.rules() == [], "plan has no side effects"
    fault.inject(params, mine, ctx)
    fault.inject(params, theirs, other)
    fresh = Context(run_id="rollback")  # like `chaoskit rollback`: no sections, another process
    fault.revert(json.loads(json.dumps(mine)), fresh)
    fault.revert(json.loads(json.dumps(mine)), fresh)
    assert [r["id"] for r in httpfault.rules()] == [theirs["rule"]]
    assert requests.get(f"{proxy}/json", timeout=5).status_code == 503  # the other run's rule still acts


def test_a_stopped_proxy_process_is_a_clear_error(cli: Cli, tmp_path: Path, upstream: str) -> None:
    server = HttpFaultServer().start()
    url = server.url
    client = server.client()
    add_proxy(client, "svc", upstream)
    ctx = Context(run_id="gone", sections={"httpfault": HttpFaultSection(url=url)})
    params = AbortFault.Params.model_validate({"proxy": "svc"})
    info = AbortFault().plan(params, ctx)
    AbortFault().inject(params, info, ctx)
    server.stop()
    with pytest.raises(ServerUnavailable, match=f"no HTTP fault proxy at {url}.*chaoskit-httpfault-server"):
        AbortFault().revert(info, Context())
    path = write(tmp_path, experiment(url, free_port(), upstream, hold="1s"))
    result = cli("run", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["outcome"] == "error" and f"no HTTP fault proxy at {url}" in verdict["reason"], verdict


def test_dry_run_shows_the_rule_and_the_proxy_and_touches_nothing(
    cli: Cli, exp_file: Callable[..., tuple[Path, int]], httpfault: HttpFaultClient, isolated_state: Path
) -> None:
    path, port = exp_file()
    result = cli("run", str(path), "--dry-run", cwd=path.parent)
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "abort 503 on POST /payments*" in shown and f"127.0.0.1:{port}" in shown and "created at run start" in shown
    assert httpfault.rules() == [] and httpfault.proxies() == {}
    assert ledgers(isolated_state) == []
