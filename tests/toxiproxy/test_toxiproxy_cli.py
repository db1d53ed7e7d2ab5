"""End to end with the real CLI in a subprocess, the real Toxiproxy server and a real upstream:
declared proxies are created and removed, SIGTERM and SIGKILL + `chaoskit rollback` leave nothing behind."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chaoskit_toxiproxy import ToxiproxyClient

from chaoskit.ports import free_port
from tests.e2e import journal_of, ledgers, start_run, write
from tests.toxiproxy.toxinet import EchoServer, median_rtt_ms

Cli = Callable[..., subprocess.CompletedProcess[str]]


def experiment(
    url: str, made: int, pre: int, echo: EchoServer, hold: str = "30s", max_duration: str = "2m", guardian: bool = True
) -> dict[str, Any]:
    return {
        "title": "toxiproxy end to end",
        "toxiproxy": {
            "url": url,
            "proxies": [
                {"name": "made", "listen": f"127.0.0.1:{made}", "upstream": echo.address},
                {"name": "pre", "listen": f"127.0.0.1:{pre}", "upstream": echo.address},
            ],
        },
        "steady_state": {
            "probes": [{"probe": "tcp", "with": {"port": made}, "expect": {"equals": True}}],
        },
        "method": [
            {
                "fault": "toxiproxy.latency",
                "with": {"proxy": "made", "latency_ms": 100},
                "duration": hold,
                "background": True,
            },
            {"fault": "toxiproxy.down", "with": {"proxy": "pre"}, "duration": hold},
        ],
        "recovery": {"within": "10s", "interval": "250ms"},
        "safety": {"max_duration": max_duration, "guardian": {"enabled": guardian}},
    }


@pytest.fixture
def setup(tmp_path: Path, toxiproxy: ToxiproxyClient, echo: EchoServer) -> Callable[..., tuple[Path, int, int]]:
    """Write the experiment; 'pre' exists before the run (created here), 'made' does not."""

    def make(hold: str = "30s", max_duration: str = "2m", guardian: bool = True) -> tuple[Path, int, int]:
        made, pre = free_port(), free_port()
        toxiproxy.create_proxy("pre", f"127.0.0.1:{pre}", echo.address)
        path = write(tmp_path, experiment(toxiproxy.url, made, pre, echo, hold, max_duration, guardian))
        return path, made, pre

    return make


def wait_for_faults(client: ToxiproxyClient, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until 'made' carries a toxic and 'pre' is disabled: both faults are in place."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, f"the run ended early: {proc.communicate()}"
        proxies = client.proxies()
        if "made" in proxies and proxies["made"].toxics and not proxies["pre"].enabled:
            return
        time.sleep(0.05)
    raise AssertionError(f"faults not in place after {timeout}s: {client.proxies()}")


def assert_left_as_before(client: ToxiproxyClient, pre: int) -> None:
    proxies = client.proxies()
    assert "made" not in proxies, "the proxy the run created must be removed"
    assert proxies["pre"].toxics == () and proxies["pre"].enabled, "the pre-existing proxy is left as it was"
    assert median_rtt_ms(pre) < 50


def test_a_passing_run_creates_and_removes_its_proxies(
    cli: Cli, setup: Callable[..., tuple[Path, int, int]], toxiproxy: ToxiproxyClient, isolated_state: Path
) -> None:
    path, _, pre = setup(hold="1s")
    result = cli("run", str(path), "--quiet", cwd=path.parent)
    assert result.returncode == 0, result.stderr
    journal = journal_of(path)
    assert journal["outcome"] == "passed"
    assert [f["plugin"] for f in journal["faults"]] == ["toxiproxy.latency", "toxiproxy.down"]
    assert all(f["reverted_at"] for f in journal["faults"])
    assert_left_as_before(toxiproxy, pre)
    assert ledgers(isolated_state) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_fault_reverts_everything(
    sig: signal.Signals,
    setup: Callable[..., tuple[Path, int, int]],
    toxiproxy: ToxiproxyClient,
    isolated_state: Path,
) -> None:
    path, _, pre = setup()
    proc = start_run(path)
    wait_for_faults(toxiproxy, proc)
    assert len(ledgers(isolated_state)) == 2  # the run's ledger and the proxies' one
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    journal = journal_of(path)
    assert journal["outcome"] == "interrupted"
    assert_left_as_before(toxiproxy, pre)
    assert ledgers(isolated_state) == []


def test_max_duration_mid_fault_aborts_and_reverts_everything(
    setup: Callable[..., tuple[Path, int, int]], toxiproxy: ToxiproxyClient, isolated_state: Path
) -> None:
    path, _, pre = setup(max_duration="4s")
    proc = start_run(path)
    wait_for_faults(toxiproxy, proc)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stderr
    journal = journal_of(path)
    assert journal["outcome"] == "aborted" and "max_duration" in journal["reason"]
    assert_left_as_before(toxiproxy, pre)
    assert ledgers(isolated_state) == []


def test_sigkill_mid_fault_then_rollback(
    cli: Cli, setup: Callable[..., tuple[Path, int, int]], toxiproxy: ToxiproxyClient, isolated_state: Path
) -> None:
    path, made, pre = setup(guardian=False)  # no guardian: the case a person recovers from with rollback
    proc = start_run(path)
    wait_for_faults(toxiproxy, proc)
    proc.kill()
    proc.communicate(timeout=30)
    left = toxiproxy.proxies()
    assert left["made"].toxics and not left["pre"].enabled  # a killed run leaves its faults...
    found = ledgers(isolated_state)
    assert len(found) == 2 and any(name.endswith(".toxiproxy.json") for name in found)  # ...and its ledgers
    first = cli("rollback")
    assert first.returncode == 0, first.stderr
    assert "reverted" in first.stderr and "toxiproxy proxies" in first.stderr
    assert_left_as_before(toxiproxy, pre)
    assert ledgers(isolated_state) == []
    second = cli("rollback")
    assert second.returncode == 0 and "nothing to roll back" in second.stderr
    assert_left_as_before(toxiproxy, pre)
    with pytest.raises(ConnectionRefusedError):
        median_rtt_ms(made)


def test_dry_run_shows_proxies_and_toxics_and_touches_nothing(
    cli: Cli, setup: Callable[..., tuple[Path, int, int]], toxiproxy: ToxiproxyClient
) -> None:
    path, made, _ = setup()
    result = cli("run", str(path), "--dry-run", cwd=path.parent)
    assert result.returncode == 0, result.stderr
    journal = journal_of(path)
    shown = [a["result"] for a in journal["activities"]]
    assert any(f"on proxy made (127.0.0.1:{made} -> " in s and "created at run start" in s for s in shown), shown
    assert any(s.startswith("would inject: disable proxy pre") for s in shown), shown
    assert "chaoskit-" in result.stderr and "-1-downstream" in result.stderr
    assert list(toxiproxy.proxies()) == ["pre"] and toxiproxy.proxy("pre").toxics == ()


def test_no_server_is_an_error_with_a_clear_message(cli: Cli, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    doc = {
        "title": "no server",
        "toxiproxy": {"url": url},
        "method": [{"fault": "toxiproxy.latency", "with": {"proxy": "db", "latency_ms": 10}}],
    }
    result = cli("run", str(write(tmp_path, doc)), "--json", cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["outcome"] == "error"
    assert f"no Toxiproxy server at {url}" in verdict["reason"]


def test_unknown_proxy_is_an_error_with_a_clear_message(cli: Cli, tmp_path: Path, toxiproxy: ToxiproxyClient) -> None:
    doc = {
        "title": "unknown proxy",
        "toxiproxy": {"url": toxiproxy.url},
        "method": [{"fault": "toxiproxy.down", "with": {"proxy": "nope"}}],
    }
    result = cli("run", str(write(tmp_path, doc)), "--json", cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert "has no proxy 'nope'" in json.loads(result.stdout)["reason"]


def test_env_sets_the_server_url(cli: Cli, tmp_path: Path, toxiproxy: ToxiproxyClient, echo: EchoServer) -> None:
    toxiproxy.create_proxy("db", f"127.0.0.1:{free_port()}", echo.address)
    doc = {
        "title": "env url",
        "method": [{"fault": "toxiproxy.latency", "with": {"proxy": "db", "latency_ms": 1}, "duration": "100ms"}],
    }
    result = cli("run", str(write(tmp_path, doc)), "--json", cwd=tmp_path, env={"TOXIPROXY_URL": toxiproxy.url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert toxiproxy.proxy("db").toxics == ()


def test_invalid_params_are_reported_with_their_paths(cli: Cli, tmp_path: Path) -> None:
    doc = {
        "title": "bad",
        "toxiproxy": {"proxies": [{"name": "a", "listen": "nowhere", "upstream": "x:1"}]},
        "method": [
            {"fault": "toxiproxy.latency", "with": {"proxy": "a", "latency_ms": -1, "stream": "sideways"}},
            {"fault": "toxiproxy.slicer", "with": {"proxy": "a", "average_size_bytes": 10, "size_variation_bytes": 10}},
        ],
    }
    result = cli("validate", str(write(tmp_path, doc)), cwd=tmp_path)
    assert result.returncode == 5
    for path in ("toxiproxy.proxies[0].listen", "method[0].with.latency_ms", "method[0].with.stream", "method[1].with"):
        assert path in result.stderr, (path, result.stderr)
    assert "size_variation_bytes must be smaller than average_size_bytes" in result.stderr
