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
    browser_binary = need_chromium()
    env = _env(clean, GAMEDAY_FAULT_DURATION="8s", GAMEDAY_OBSERVE_RECOVERY="3s", GAMEDAY_USERS="4")
    argv = [CHAOSKIT, "run", str(EXPERIMENTS / "01-inventory-latency.yaml"), "--out", str(tmp_path / "runs")]
    with (
        LiveProcess([*argv, "--serve", "127.0.0.1:0", "--quiet"], cwd=tmp_path, env=env) as live,
        Browser(browser_binary, tmp_path / "profile") as browser,
    ):
        page = browser.page()
        page.navigate(live.url)
        page.wait_for("!!document.querySelector('svg[data-name=\"load rps\"]')", 90, "the load's requests/s")
        seen: dict[str, list[float]] = {"load rps": [], "load p95 ms": []}
        before_fault: list[float] = []

        def sample() -> None:
            for name, values in seen.items():
                value = _lane(page, name)
                if value is not None:
                    values.append(value)

        while not page.eval("!!document.querySelector('rect.win[data-open]')"):  # until the fault window opens
            sample()
            before_fault += seen["load p95 ms"][-1:]
            assert live.process.poll() is None, live.stderr_text()
            time.sleep(0.5)
        assert "slow inventory replica 1" in page.text("faults") and "s left" in page.text("faults")
        assert [t["type"] for t in _toxics(clean, "inventory-1")] == ["latency"]  # the fault is really in
        during: list[float] = []
        while page.eval("!!document.querySelector('rect.win[data-open]')"):  # until it closes
            sample()
            during += seen["load p95 ms"][-1:]
            time.sleep(0.5)
        assert page.eval("document.querySelectorAll('svg[data-name=\"load rps\"] rect.win').length") == 1
        assert _toxics(clean, "inventory-1") == []
        assert live.wait(120) == 0, live.stderr_text()
        page.wait_for("document.getElementById('status').innerText.startsWith('the run is over')", 20)
        assert page.text("phase") == "passed" and "passed" in page.text("queue")
        final_p95 = page.eval("document.querySelector('svg[data-name=\"load p95 ms\"]').dataset.max")
    # the numbers came from the load, each second, and moved with the fault: retries after a 250 ms attempt
    assert len(set(seen["load rps"])) >= 3, seen
    assert max(during) >= 200 > min(before_fault), (before_fault, during)
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
