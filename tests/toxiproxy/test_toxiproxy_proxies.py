"""The declared proxies: the section model, ProxiesFault and the run-start/run-end hooks (in process)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from chaoskit_toxiproxy import ToxiproxyClient, ToxiproxySection
from chaoskit_toxiproxy.proxies import ProxiesFault
from pydantic import ValidationError

from chaoskit.loader import validate_document
from chaoskit.model.journal import Outcome
from chaoskit.plugin import Context
from chaoskit.ports import free_port
from chaoskit.runner import RunOptions, run_experiment
from tests.toxiproxy.toxinet import EchoServer, median_rtt_ms


def section(url: str, *proxies: tuple[str, str, str]) -> ToxiproxySection:
    return ToxiproxySection.model_validate(
        {"url": url, "proxies": [{"name": n, "listen": listen, "upstream": up} for n, listen, up in proxies]}
    )


def test_section_defaults_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    assert ToxiproxySection().url == "http://127.0.0.1:8474"
    monkeypatch.setenv("TOXIPROXY_URL", "http://127.0.0.1:9999")
    assert ToxiproxySection().url == "http://127.0.0.1:9999"
    assert ToxiproxySection(url="http://127.0.0.1:1234").url == "http://127.0.0.1:1234"  # the file wins


def test_section_rejects_duplicates() -> None:
    with pytest.raises(ValidationError, match="declared more than once: a"):
        section("http://x:1", ("a", "127.0.0.1:1", "127.0.0.1:2"), ("a", "127.0.0.1:3", "127.0.0.1:2"))
    with pytest.raises(ValidationError, match="same address"):
        section("http://x:1", ("a", "127.0.0.1:1", "127.0.0.1:2"), ("b", "127.0.0.1:1", "127.0.0.1:2"))


def test_proxies_fault_creates_only_missing_and_deletes_only_its_own(
    toxiproxy: ToxiproxyClient, echo: EchoServer
) -> None:
    old, new = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    toxiproxy.create_proxy("old", old, echo.address)
    params = section(toxiproxy.url, ("old", old, echo.address), ("new", new, echo.address))
    fault, ctx = ProxiesFault(), Context()
    info = fault.plan(params, ctx)
    assert [p["name"] for p in info["create"]] == ["new"] and info["existing"] == ["old"]
    assert "create proxies new" in fault.describe(info)
    done = fault.inject(params, info, ctx)
    assert done is not None and [p["name"] for p in done["created"]] == ["new"]
    assert median_rtt_ms(int(new.rsplit(":", 1)[1])) < 50  # the new proxy carries traffic
    fault.revert(done, ctx)
    fault.revert(done, ctx)  # idempotent
    assert list(toxiproxy.proxies()) == ["old"]


def test_proxies_fault_revert_after_an_inject_cut_short(toxiproxy: ToxiproxyClient, echo: EchoServer) -> None:
    listen = f"127.0.0.1:{free_port()}"
    params = section(toxiproxy.url, ("a", listen, echo.address), ("b", f"127.0.0.1:{free_port()}", echo.address))
    info = ProxiesFault().plan(params, Context())
    toxiproxy.create_proxy("a", listen, echo.address)  # inject created "a", then the process died
    toxiproxy.create_proxy("b", f"127.0.0.1:{free_port()}", echo.address)  # someone else's "b", elsewhere
    ProxiesFault().revert(info, Context())  # from the planned info (created: None)
    assert list(toxiproxy.proxies()) == ["b"]


def run(doc: dict[str, object], tmp_path: Path) -> tuple[Outcome | None, list[str]]:
    journal = run_experiment(validate_document(doc), RunOptions(out_dir=tmp_path, handle_signals=False))
    return journal.outcome, [f"{e.where}: {e.message}" for e in journal.errors]


def test_a_run_creates_declared_proxies_before_the_baseline(
    toxiproxy: ToxiproxyClient, echo: EchoServer, tmp_path: Path, isolated_state: Path
) -> None:
    port = free_port()
    doc = {
        "title": "proxy before baseline",
        "toxiproxy": {
            "url": toxiproxy.url,
            "proxies": [{"name": "db", "listen": f"127.0.0.1:{port}", "upstream": echo.address}],
        },
        "steady_state": {
            "probes": [
                {"probe": "toxiproxy.proxy", "with": {"proxy": "db"}, "expect": {"equals": True}},
                {"probe": "tcp", "with": {"port": port}, "expect": {"equals": True}},
            ]
        },
        "method": [
            {"fault": "toxiproxy.latency", "with": {"proxy": "db", "latency_ms": 5}, "duration": "200ms"},
            {"probe": "toxiproxy.toxics", "with": {"proxy": "db"}, "expect": {"equals": []}},
        ],
        "recovery": {"within": "5s", "interval": "100ms"},
    }
    outcome, errors = run(doc, tmp_path)
    assert (outcome, errors) == (Outcome.PASSED, [])
    assert toxiproxy.proxies() == {}
    assert not list((isolated_state / "ledger").glob("*.json"))


def test_a_proxy_that_cannot_be_created_is_reported(
    toxiproxy: ToxiproxyClient, echo: EchoServer, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        doc = {
            "title": "port taken",
            "toxiproxy": {
                "url": toxiproxy.url,
                "proxies": [{"name": "db", "listen": listen, "upstream": echo.address}],
            },
            "method": [{"fault": "toxiproxy.latency", "with": {"proxy": "db", "latency_ms": 5}}],
        }
        outcome, errors = run(doc, tmp_path)
    assert outcome == Outcome.ERROR
    assert any(f"its listen address {listen} is already in use" in e for e in errors), errors
    # the run stops at its start (a run-start hook's PluginError): no fault is even planned
    assert not any("declared under `toxiproxy: proxies:` but does not exist" in e for e in errors), errors
    assert toxiproxy.proxies() == {}


def test_a_deviating_run_still_reverts_and_removes_its_proxy(
    toxiproxy: ToxiproxyClient, echo: EchoServer, tmp_path: Path, isolated_state: Path
) -> None:
    port = free_port()
    doc = {
        "title": "outage deviates",
        "toxiproxy": {
            "url": toxiproxy.url,
            "proxies": [{"name": "db", "listen": f"127.0.0.1:{port}", "upstream": echo.address}],
        },
        "steady_state": {
            "strategy": "continuous",
            "frequency": "100ms",
            "probes": [{"probe": "tcp", "with": {"port": port, "timeout": "1s"}, "expect": {"equals": True}}],
        },
        "method": [{"fault": "toxiproxy.down", "with": {"proxy": "db"}, "duration": "1s"}],
        "recovery": {"within": "5s", "interval": "100ms"},
    }
    outcome, errors = run(doc, tmp_path)
    assert (outcome, errors) == (Outcome.DEVIATED, [])
    assert toxiproxy.proxies() == {}
    assert not list((isolated_state / "ledger").glob("*.json"))
