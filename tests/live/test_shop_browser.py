"""The live page in real headless Chromium (driven over the DevTools protocol) while real runs go against the demo
shop (real services, real Toxiproxy, Locust load): the load's numbers arrive each second and change, a fault
window appears and closes, and the page left open shows the final state; HALT clicked on the page (and confirmed)
reverts every active fault, checked on Toxiproxy and on the frozen process, and the page shows ``aborted``."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from shop.launcher import ShopInfo

from tests.conftest import CHAOSKIT, ROOT, run_cli, wait_for
from tests.demo.test_shop import clean, shop  # noqa: F401 (fixtures: the shop, and every proxy clean after)
from tests.live.cdp import Browser, Page
from tests.live.serve import LiveProcess, need_chromium

EXPERIMENTS = ROOT / "examples" / "shop" / "experiments"


def _env(info: ShopInfo, **extra: str) -> dict[str, str]:
    assert info.toxiproxy_url
    return {**os.environ, "SHOP_URL": info.storefront_url, "TOXIPROXY_URL": info.toxiproxy_url, **extra}


def _toxics(info: ShopInfo, proxy: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{info.toxiproxy_url}/proxies/{proxy}/toxics", timeout=5) as answer:
        return list(json.loads(answer.read()))


def _state(pid: int) -> str:
    """The process state letter from /proc (T: stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def _lane(page: Page, name: str) -> float | None:
    value = page.eval(f"(document.querySelector('svg[data-name=\"{name}\"]') || {{dataset: {{}}}}).dataset.last")
    return None if value in (None, "-") else float(value)


def test_the_page_follows_a_run_against_the_shop(clean: ShopInfo, tmp_path: Path) -> None:  # noqa: F811
    """Slow payments (the shop's finding) under Locust load, the shop's spans received over OTLP: the load's and
    the traces' numbers arrive each second and rise with the fault while its window is open."""
    browser_binary = need_chromium()
    env = _env(
        clean,
        GAMEDAY_FAULT_DURATION="8s",
        GAMEDAY_OBSERVE_RECOVERY="3s",
        GAMEDAY_USERS="4",
        SHOP_OTLP=clean.otlp_receive,
    )
    argv = [CHAOSKIT, "run", str(EXPERIMENTS / "04-payments-latency.yaml"), "--out", str(tmp_path / "runs")]
    lanes = ("load rps", "load p95 ms", "trace spans/s", "trace p95 ms")
    before: dict[str, list[float]] = {name: [] for name in lanes}
    during: dict[str, list[float]] = {name: [] for name in lanes}

    def sample(page: Page, into: dict[str, list[float]]) -> None:
        for name, values in into.items():
            value = _lane(page, name)
            if value is not None:
                values.append(value)

    with (
        LiveProcess([*argv, "--serve", "127.0.0.1:0", "--quiet"], cwd=tmp_path, env=env) as live,
        Browser(browser_binary, tmp_path / "profile") as browser,
    ):
        page = browser.page()
        page.navigate(live.url)
        page.wait_for("!!document.querySelector('svg[data-name=\"load rps\"]')", 90, "the load's requests/s")
        while not page.eval("!!document.querySelector('rect.win[data-open]')"):  # until the fault window opens
            sample(page, before)
            assert live.process.poll() is None, live.stderr_text()
            time.sleep(0.5)
        assert "slow payments" in page.text("faults") and "s left" in page.text("faults")
        assert [t["type"] for t in _toxics(clean, "payments")] == ["latency"]  # the fault is really in
        while page.eval("!!document.querySelector('rect.win[data-open]')"):  # until it closes
            sample(page, during)
            time.sleep(0.5)
        assert page.eval("document.querySelectorAll('svg[data-name=\"load rps\"] rect.win').length") == 1
        assert _toxics(clean, "payments") == []
        assert live.wait(120) == 1, live.stderr_text()  # deviated: the documented finding
        page.wait_for("document.getElementById('status').innerText.startsWith('the run is over')", 20)
        assert page.text("phase") == "deviated" and "deviated" in page.text("queue")
        final_p95 = page.eval("document.querySelector('svg[data-name=\"load p95 ms\"]').dataset.max")
    # the numbers came each second from the load and the received spans, and moved with the fault (1.5 s payments)
    assert len(set(before["load rps"] + during["load rps"])) >= 3, (before, during)
    assert max(during["load p95 ms"]) >= 1000 > min(before["load p95 ms"]), (before, during)
    assert before["trace spans/s"] and during["trace spans/s"], (before, during)
    assert max(during["trace p95 ms"]) > 2 * min(before["trace p95 ms"]), (before, during)
    journal = json.loads(next((tmp_path / "runs").rglob("journal.json")).read_text())
    per_second = {row["p95_ms"] for row in journal["load"]["series"]}  # the same per-second figures as the journal
    assert float(final_p95) in per_second, (final_p95, sorted(v for v in per_second if v is not None)[-5:])


def test_halt_on_the_page_reverts_every_fault(clean: ShopInfo, tmp_path: Path) -> None:  # noqa: F811
    browser_binary = need_chromium()
    pidfile = clean.pidfiles["inventory-1"]
    doc = {
        "title": "halt from the live page",
        "configuration": {"shop_url": clean.storefront_url},
        "toxiproxy": {"url": clean.toxiproxy_url},
        "steady_state": {
            "probes": [{"probe": "http", "with": {"url": "${shop_url}/products"}, "expect": {"status": 200}}]
        },
        "method": [
            {
                "name": "slow inventory 2",
                "fault": "toxiproxy.latency",
                "with": {"proxy": "inventory-2", "latency_ms": 300},
                "duration": "90s",
                "background": True,
            },
            {"name": "freeze inventory 1", "fault": "host.pause", "with": {"pidfile": pidfile}, "duration": "90s"},
        ],
        "safety": {"max_duration": "3m"},
    }
    (tmp_path / "halt.yaml").write_text(yaml.safe_dump(doc))
    argv = [CHAOSKIT, "run", "halt.yaml", "--out", "runs", "--serve", "127.0.0.1:0", "--quiet"]
    with (
        LiveProcess(argv, cwd=tmp_path) as live,
        Browser(browser_binary, tmp_path / "profile") as browser,
    ):
        page = browser.page()
        page.navigate(live.url)
        wait_for(lambda: live.process.poll() is not None or len(live.state()["faults"]) == 2, 60, "both faults")
        assert live.process.poll() is None, live.stderr_text()
        page.wait_for("document.querySelectorAll('#faults li b').length === 2", 10, "both faults on the page")
        pid = int(Path(pidfile).read_text())
        assert _state(pid) == "T" and [t["type"] for t in _toxics(clean, "inventory-2")] == ["latency"]
        page.accept_dialogs = False  # a HALT that is not confirmed does nothing
        page.click("#halt")
        time.sleep(1)
        assert live.process.poll() is None and _state(pid) == "T" and page.dialogs
        page.accept_dialogs = True
        page.click("#halt")
        assert live.wait(60) == 3, live.stderr_text()  # aborted
        assert len(page.dialogs) == 2 and "HALT" in page.dialogs[1]
        assert _toxics(clean, "inventory-2") == [] and _state(pid) != "T"  # every fault reverted
        page.wait_for("document.getElementById('phase').innerText === 'aborted'", 20, "aborted on the page")
        assert "halted" in page.text("halted") and page.text("faults") == "none"
        assert "aborted" in page.text("queue")
    journal = json.loads(next((tmp_path / "runs").rglob("journal.json")).read_text())
    assert journal["outcome"] == "aborted" and "halted" in journal["reason"]
    assert all(f["reverted_at"] for f in journal["faults"]) and len(journal["faults"]) == 2
    assert run_cli("halt", "--release").returncode == 0
    wait_for(lambda: _state(pid) in "SR", 10, "inventory 1 running again")
