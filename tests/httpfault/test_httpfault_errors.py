"""User errors name what and where (exit codes 4 and 5); the hits probe; a declared proxy marked `keep`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests
from chaoskit_httpfault import HttpFaultClient
from chaoskit_httpfault.faults import AbortFault
from chaoskit_httpfault.probes import HitsProbe
from chaoskit_httpfault.section import HttpFaultSection

from chaoskit.plugin import Context
from chaoskit.ports import free_port
from tests.e2e import write
from tests.httpfault.conftest import Inject

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_an_unknown_proxy_is_an_error_naming_the_existing_ones(
    cli: Cli, tmp_path: Path, httpfault: HttpFaultClient, proxy: str
) -> None:
    doc = {
        "title": "unknown proxy",
        "httpfault": {"url": httpfault.url},
        "method": [{"fault": "httpfault.abort", "with": {"proxy": "nope"}}],
    }
    result = cli("run", str(write(tmp_path, doc)), "--json", cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    reason = json.loads(result.stdout)["reason"]
    assert "has no proxy 'nope'" in reason and "existing proxies: svc" in reason


def test_invalid_params_are_reported_with_their_paths(cli: Cli, tmp_path: Path) -> None:
    doc = {
        "title": "invalid",
        "httpfault": {"proxies": [{"name": "a", "listen": "127.0.0.1:1", "upstream": "ftp://x"}]},
        "method": [
            {"fault": "httpfault.abort", "with": {"proxy": "a", "percent": 150, "status": 42}},
            {"fault": "httpfault.truncate", "with": {"proxy": "a", "bytes": 3, "fraction": 0.5}},
            {"fault": "httpfault.delay", "with": {"proxy": "a", "delay_ms": 10, "match": {"path_regex": "("}}},
            {"fault": "httpfault.rate_limit", "with": {"proxy": "a", "rps": 0, "extra": 1}},
        ],
    }
    result = cli("validate", str(write(tmp_path, doc)))
    assert result.returncode == 5, result.stderr
    out = result.stdout + result.stderr
    for where in (
        "httpfault.proxies[0].upstream",
        "method[0].with.percent",
        "method[0].with.status",
        "method[1].with",
        "method[2].with.match.path_regex",
        "method[3].with.rps",
        "method[3].with.extra",
    ):
        assert where in out, f"{where} not named in:\n{out}"


def test_the_hits_probe_counts_this_runs_rules(httpfault: HttpFaultClient, proxy: str, inject: Inject) -> None:
    inject(AbortFault(), run_id="run1", match={"path": "/json"}, first=2)
    inject(AbortFault(), run_id="other", match={"path": "/echo"})
    with requests.Session() as s:
        for path in ("/json", "/json", "/json", "/echo", "/other"):
            s.get(f"{proxy}{path}", timeout=10)
    sections = {"httpfault": HttpFaultSection(url=httpfault.url)}
    mine = HitsProbe().observe(HitsProbe.Params.model_validate({"proxy": "svc"}), Context("run1", sections=sections))
    assert mine.value == 2
    assert mine.details["requests"] == 5 and mine.details["matched"] == 3
    every = HitsProbe.Params.model_validate({"proxy": "svc", "this_run": False})
    assert HitsProbe().observe(every, Context("run1", sections=sections)).value == 3


def test_a_kept_declared_proxy_stays_after_the_run(
    cli: Cli, tmp_path: Path, httpfault: HttpFaultClient, upstream: str
) -> None:
    port = free_port()
    doc = {
        "title": "kept proxy",
        "httpfault": {
            "url": httpfault.url,
            "proxies": [{"name": "kept", "listen": f"127.0.0.1:{port}", "upstream": upstream, "keep": True}],
        },
        "method": [{"fault": "httpfault.abort", "with": {"proxy": "kept"}, "duration": "0.5s"}],
    }
    result = cli("run", str(write(tmp_path, doc)), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "kept" in httpfault.proxies() and httpfault.rules() == []
    assert requests.get(f"http://127.0.0.1:{port}/json", timeout=10).status_code == 200


def test_preflight_finds_an_unknown_proxy_and_a_stopped_proxy_process(
    cli: Cli, tmp_path: Path, httpfault: HttpFaultClient, proxy: str
) -> None:
    doc = {
        "title": "preflight",
        "httpfault": {
            "url": httpfault.url,
            "proxies": [{"name": "declared", "listen": f"127.0.0.1:{free_port()}", "upstream": "http://127.0.0.1:9"}],
        },
        "method": [
            {"fault": "httpfault.abort", "with": {"proxy": "svc"}},  # exists
            {"fault": "httpfault.abort", "with": {"proxy": "declared"}},  # created at run start
            {"fault": "httpfault.delay", "with": {"proxy": "nope", "delay_ms": 10}},
            {"probe": "httpfault.hits", "with": {"proxy": "nope"}, "expect": {"min": 0}},
        ],
    }
    result = cli("validate", "--preflight", str(write(tmp_path, doc)))
    assert result.returncode == 6, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert out.count("has no proxy 'nope'") == 2 and "method[2]" in out and "method[3]" in out
    assert "method[0]" not in out and "method[1]" not in out
    assert httpfault.rules() == [] and set(httpfault.proxies()) == {"svc"}, "preflight changes nothing"
    doc["httpfault"] = {"url": f"http://127.0.0.1:{free_port()}"}
    stopped = cli("validate", "--preflight", str(write(tmp_path, doc)))
    assert stopped.returncode == 6 and "no HTTP fault proxy at" in stopped.stdout + stopped.stderr
