"""Gates and notes on the live page, in real headless Chromium driven over the DevTools protocol (mouse and
keyboard), while a real ``chaoskit gameday --serve`` runs experiments against a real HTTP service: a gate waits
until it is answered on the page (Tab, Enter); a second gate is answered in the terminal (a pty) and the page shows
who answered; a note typed on the page lands in the running experiment's journal, its report and the day's index;
the page left open shows the final state; the index draws the whole day on one time axis."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import CHAOSKIT, HttpService, wait_for
from tests.live.cdp import Browser
from tests.live.serve import LiveProcess, need_chromium


def _experiment(folder: Path, name: str, url: str, hold: str) -> dict[str, Any]:
    doc = {
        "title": f"gated {name}",
        "configuration": {"url": url, "flag": str(folder / f"{name}.flag")},
        "steady_state": {"probes": [{"probe": "http", "with": {"url": "${url}"}, "expect": {"status": 200}}]},
        "method": [{"fault": "testkit.marker", "with": {"path": "${flag}"}, "duration": hold}],
        "safety": {"max_duration": "1m"},
    }
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    return {"experiment": f"{name}.yaml"}


def _journals(out: Path) -> dict[str, dict[str, Any]]:
    return {j["title"]: j for j in (json.loads(p.read_text()) for p in out.rglob("journal.json"))}


def test_gates_wait_for_the_page_or_the_terminal_and_notes_reach_the_journal(
    tmp_path: Path, http_service: HttpService
) -> None:
    browser_binary = need_chromium()
    steps = [
        _experiment(tmp_path, "one", http_service.url, "1s"),
        {"gate": "Is the payments on-call watching?"},
        _experiment(tmp_path, "two", http_service.url, "6s"),
        {"gate": "Go on to the outage?"},
        _experiment(tmp_path, "three", http_service.url, "1s"),
    ]
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump({"title": "gated day", "steps": steps}))
    out = tmp_path / "runs"
    master, slave = pty.openpty()  # a real terminal on stdin: the terminal prompt and the page race
    try:
        with (
            LiveProcess(
                [CHAOSKIT, "gameday", "plan.yaml", "--out", str(out), "--serve", "127.0.0.1:0", "--quiet"],
                cwd=tmp_path,
                stdin=slave,
            ) as live,
            Browser(browser_binary, tmp_path / "profile") as browser,
        ):
            page = browser.page()
            page.navigate(live.url)
            page.wait_for("!document.getElementById('gate').hidden", timeout=90, what="the first gate on the page")
            assert page.text("gate-question") == "Is the payments on-call watching?"
            time.sleep(2)  # the gate really waits: nothing runs after it until someone answers
            assert set(_journals(out)) == {"gated one"} and not (tmp_path / "two.flag").exists()
            assert "on the live page or here" in live.stderr_text()

            page.type("#note", "  inventory dashboards open  ")
            page.press("Enter", 13, text="\r")  # the note form, from the keyboard
            page.wait_for("document.getElementById('note-status').innerText === 'noted'", timeout=10)
            page.eval("document.getElementById('halt').focus()")  # from the keyboard: Tab from HALT, then Enter
            page.press("Tab", 9)
            assert page.eval("document.activeElement.id") == "gate-go"
            page.press("Enter", 13, text="\r")
            wait_for(lambda: (tmp_path / "two.flag").exists(), 60, "experiment two's fault (after the page's answer)")
            assert "gate answered by live view (127.0.0.1): continue" in live.wait_stderr("gate answered by", 10)
            page.wait_for("document.getElementById('gate').hidden", timeout=10)
            assert "answered by live view (127.0.0.1)" in page.text("answered")

            page.type("#note", "checkout p95 rising while two runs")  # two is running: into its journal
            page.click("#note-form button")
            page.wait_for("document.getElementById('notes').innerText.includes('checkout p95 rising')", timeout=10)

            page.wait_for("!document.getElementById('gate').hidden", timeout=90, what="the second gate")
            assert page.text("gate-question") == "Go on to the outage?"
            os.write(master, b"n\n")  # answered in the terminal first: stop the day
            time.sleep(0.5)
            os.write(master, b"the outage waits for Monday\n")  # the terminal's note prompt
            page.wait_for("document.getElementById('answered').innerText.includes('answered by terminal')", 30)
            assert "stop the day" in page.text("answered")
            code = live.wait(60)
            # the page left open after the day shows the final state
            page.wait_for(
                "document.getElementById('status').innerText.startsWith('the run is over')", 20, "the final state"
            )
            queue = page.text("queue")
            assert queue.count("passed") == 2 and "gated two" in queue, queue
            page.navigate((out / "index.html").resolve().as_uri())  # the day's index: its timeline
            day = page.eval(DAY_GEOMETRY)
    finally:
        os.close(master)
        os.close(slave)
    assert code == 0, live.stderr_text()
    journals = _journals(out)
    assert set(journals) == {"gated one", "gated two"}  # three never ran: the day stopped at the second gate
    notes = journals["gated two"]["notes"]
    assert [n["text"] for n in notes] == ["checkout p95 rising while two runs"], notes
    two = journals["gated two"]
    assert two["started_at"] <= notes[0]["at"] <= two["ended_at"] and notes[0]["by"] == "live view (127.0.0.1)"
    assert journals["gated one"]["notes"] == []  # the first note was taken between experiments: index only
    assert "checkout p95 rising while two runs" in Path(two["artifacts"]["report"]).read_text()  # its report too
    index = (out / "index.html").read_text()
    for text in ("inventory dashboards open", "checkout p95 rising while two runs", "the outage waits for Monday"):
        assert text in index, text
    assert "live view (127.0.0.1)" in index and "gate steps[3] (terminal)" in index
    # one time axis: each run's fault inside its span, the first gate answered between the runs, the second after
    (one, two), faults, gates = day["runs"], day["faults"], day["gates"]
    assert len(faults) == 2 and all(
        run[0] <= f[0] and f[1] <= run[1] + 0.5 for run, f in zip(day["runs"], faults, strict=True)
    )
    assert one[1] <= gates[0][1] <= two[0] and two[1] <= gates[1][1]
    assert day["gate_colors"] == ["#15803d", "#b91c1c"] and len(day["notes"]) == 3
    assert sorted(day["notes"]) == day["notes"] and one[1] <= day["notes"][0] and two[0] <= day["notes"][1] <= two[1]
    assert "Is the payments on-call watching?: continue (live view (127.0.0.1)" in day["titles"]


DAY_GEOMETRY = """(() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.right]; };
  const all = (q) => [...document.querySelectorAll(q)];
  return {
    runs: all("#day rect.run").map(box), faults: all("#day rect.fault").map(box),
    gates: all("#day g.gate rect").map(box).map((b, i) => [b[0], box(all("#day g.gate path")[i])[0] + 6]),
    gate_colors: all("#day g.gate path").map((p) => p.getAttribute("fill")),
    notes: all("#day circle.note").map((c) => box(c)[0] + 5),
    titles: all("#day title").map((t) => t.textContent).join("\\n"),
  };
})()"""


def test_without_a_terminal_only_the_page_answers_and_a_note_is_checked(
    tmp_path: Path, http_service: HttpService
) -> None:
    """CI with --serve and no terminal: the gate is answered over HTTP; bad notes and answers are refused."""
    steps = [{"gate": "Start?"}, _experiment(tmp_path, "only", http_service.url, "1s")]
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump({"title": "no terminal", "steps": steps}))
    with LiveProcess(
        [CHAOSKIT, "gameday", "plan.yaml", "--out", "runs", "--serve", "127.0.0.1:0", "--quiet"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    ) as live:
        state = wait_for(lambda: (s := live.state())["gate"] and s, 60, "the gate")
        assert live.post("/note", {"text": "   "}) == (400, {"error": "POST /note: the note is empty"})
        assert live.post("/note", {"text": "x" * 2001})[0] == 400
        assert live.post("/gate", {"id": "1", "go": True})[0] == 400
        assert live.post("/gate", {"id": state["gate"]["id"] + 7, "go": True})[0] == 404
        assert live.post("/gate", {"id": state["gate"]["id"], "go": True}, ctype="text/plain")[0] == 415
        status, won = live.post("/gate", {"id": state["gate"]["id"], "go": True})
        assert status == 200 and won["won"] is True
        status, late = live.post("/gate", {"id": state["gate"]["id"], "go": False})
        assert status == 409 and late["answer"]["go"] is True and late["answer"]["by"].startswith("live view")
        assert live.wait(60) == 0, live.stderr_text()
    assert "gate answered by live view (127.0.0.1): continue" in live.stderr_text()


def test_a_parallel_group_is_shown_side_by_side(tmp_path: Path, http_service: HttpService) -> None:
    """Each experiment of a parallel group runs in its own process; the day's page shows both while they hold
    their faults at the same time, and their verdicts once they are over."""
    browser_binary = need_chromium()
    group = [_experiment(tmp_path, name, http_service.url, "6s") for name in ("left", "right")]
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump({"title": "side by side", "steps": [{"parallel": group}]}))
    argv = [CHAOSKIT, "gameday", "plan.yaml", "--out", "runs", "--serve", "127.0.0.1:0", "--quiet"]
    with LiveProcess(argv, cwd=tmp_path) as live, Browser(browser_binary, tmp_path / "profile") as browser:
        page = browser.page()
        page.navigate(live.url)
        both = (
            "[...document.querySelectorAll('#children .child .faults')].filter((u) => u.innerText.includes('s left'))"
        )
        page.wait_for(f"{both}.length === 2", 60, "both experiments' faults at once")
        assert (tmp_path / "left.flag").exists() and (tmp_path / "right.flag").exists()
        assert page.text("title") == "side by side: left.yaml, right.yaml"
        assert page.text("queue").count("running side by side") == 2
        assert live.wait(90) == 0, live.stderr_text()
        page.wait_for("document.getElementById('status').innerText.startsWith('the run is over')", 20)
        queue = page.text("queue")
        assert queue.count("passed") == 2 and "queued" not in queue and "running" not in queue, queue
        badges = page.eval("[...document.querySelectorAll('#children .child .badge')].map((b) => b.innerText)")
        assert badges == ["passed", "passed"]
