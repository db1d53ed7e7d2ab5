"""The README's first command, end to end: ``scripts/demo`` (shortened with --fault-duration/--users) sets up,
starts the shop, runs the game day under Locust load, writes journals/reports, and stops everything."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from shop.gameday import EXPECTED

from .conftest import ROOT, GameDay, demo_command, demo_env, missing_plugins


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _injected(ledgers: Path) -> bool:
    for path in ledgers.glob("*.json"):
        try:
            entries = json.loads(path.read_text()).get("entries", [])
        except (OSError, ValueError):
            continue  # being written
        if any(e.get("state") == "injected" for e in entries):
            return True
    return False


def _shop_pids(out: Path) -> list[int]:
    info = json.loads((out / "shop" / "shop.json").read_text())
    return list(info["pids"].values())


def test_the_demo_runs_the_game_day_with_the_documented_outcomes(gameday: GameDay) -> None:
    r = gameday.result
    assert r.returncode == 0, f"demo exited {r.returncode}:\n{r.stderr[-6000:]}"
    assert f"game day: {len(EXPECTED)} of {len(EXPECTED)} experiments run" in r.stderr
    assert "every outcome is the documented one" in r.stderr
    journals = gameday.journals()
    assert {name: j["outcome"] for name, j in journals.items()} == EXPECTED
    for name, journal in journals.items():
        assert journal["faults"] and all(f["reverted_at"] and not f["revert_error"] for f in journal["faults"]), name
        series = journal["load"]["series"]
        assert len(series) >= 8, f"{name}: the load ran only {len(series)} seconds"
        assert Path(journal["artifacts"]["report"]).exists() and str(Path(journal["artifacts"]["report"])) in r.stderr


def test_the_finding_shows_in_the_load_numbers(gameday: GameDay) -> None:
    from chaoskit.model.journal import Journal
    from chaoskit.report.facts import collect

    journals = gameday.journals()
    by_name = {n: collect(Journal.model_validate(j)) for n, j in journals.items()}
    payments = by_name["04-payments-latency"]
    base = payments.before
    assert base is not None
    assert base.p95_ms is not None and base.p95_ms < 800
    # Judged on the checkout endpoint: with few users, fast browse requests can fill more than 95% of the
    # fault window's requests, so the all-endpoint p95 may not show it (it flaked once that way).
    fault = journals["04-payments-latency"]["faults"][0]
    during = [
        s["p95_ms"]
        for s in journals["04-payments-latency"]["load"]["endpoints"]["checkout"]
        if fault["injected_at"] <= s["t"] <= fault["reverted_at"] + 2 and s["p95_ms"] is not None
    ]
    assert during and max(during) >= 1400, f"slow payments must show in checkout's p95: {during}"
    outage = next(w for w in by_name["05-payments-outage"].windows if w.kind == "fault")
    assert outage.error_rate is not None and outage.error_rate >= 0.05, "a payments outage fails checkouts"
    errors = next(w for w in by_name["06-payments-errors"].windows if w.kind == "fault")
    assert errors.error_rate is not None and errors.error_rate >= 0.03, "503s from payments fail checkouts"
    hits = journals["06-payments-errors"]["faults"][0]["revert_info"]["hits"]
    assert 0 < hits["applied"] < hits["matched"], f"about half of the charges were hit: {hits}"
    for name in ("01-inventory-latency", "02-replica-crash", "03-inventory-partition"):
        fault = next(w for w in by_name[name].windows if w.kind == "fault")
        assert fault.requests and (fault.error_rate or 0) <= 0.02, f"{name}: shoppers saw errors during the fault"


def test_the_demo_writes_summary_and_stops_the_shop(gameday: GameDay) -> None:
    summary = (gameday.out / "summary.md").read_text()
    assert re.search(r"\| \[04-payments-latency\]\(<[^>]+/report\.html>\) \| ⚠️ deviated \|", summary), summary
    assert re.search(r"\| \[05-payments-outage\]\(<[^>]+/report\.html>\) \| ⚠️ deviated \|", summary), summary
    assert re.search(r"\| \[06-payments-errors\]\(<[^>]+/report\.html>\) \| ⚠️ deviated \|", summary), summary
    assert (gameday.out / "runs" / "index.html").is_file()
    assert summary.count("✅ passed") == 3
    assert [pid for pid in _shop_pids(gameday.out) if _alive(pid)] == []
    ledgers = list((gameday.out / "state" / "ledger").glob("*.json"))
    assert ledgers == [], f"pending revert ledgers: {ledgers}"


def test_ctrl_c_reverts_and_stops_everything(tmp_path: Path) -> None:
    missing = missing_plugins()
    if missing:
        pytest.skip(f"the demo needs plugins that are not installed: {', '.join(missing)}")
    proc = subprocess.Popen(
        demo_command(tmp_path),
        env=demo_env(tmp_path / "state"),
        cwd=ROOT,
        text=True,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        lines.extend(proc.stderr)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # Ctrl-C while a fault is in place: its ledger entry says "injected" (not just printed, really in place)
        end = time.monotonic() + 300
        while time.monotonic() < end and not _injected(tmp_path / "state" / "ledger"):
            assert proc.poll() is None, "the demo ended before any fault was injected:\n" + "".join(lines[-40:])
            time.sleep(0.1)
        assert _injected(tmp_path / "state" / "ledger"), "no fault was injected:\n" + "".join(lines[-40:])
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        assert proc.wait(timeout=120) == 130, "".join(lines[-40:])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(10)
    journals = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/journal.json")]
    assert [j["outcome"] for j in journals] == ["interrupted"], "".join(lines[-60:])
    assert all(f["reverted_at"] and not f["revert_error"] for f in journals[0]["faults"])
    assert list((tmp_path / "state" / "ledger").glob("*.json")) == []
    assert [pid for pid in _shop_pids(tmp_path) if _alive(pid)] == []
