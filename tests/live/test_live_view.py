"""``chaoskit run --serve``: a real run in a subprocess, its live page read over HTTP, server-sent events and in
headless Chromium while a fault is in place; HALT from the page's endpoint reverts the fault and ends the run
aborted; the last event carries the final state; a token is enforced when set."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoskit.ports import free_port
from tests.conftest import CHAOSKIT, HttpService, wait_for
from tests.demo.browser import FLAGS, chromium
from tests.live.serve import LiveProcess


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_state(base: str, predicate: Any, timeout: float = 60) -> dict[str, Any]:
    end = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < end:
        try:
            status, body = _get(base + "/state")
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            state = json.loads(body)
            if predicate(state):
                return state
        time.sleep(0.1)
    raise AssertionError(f"the live state never matched: {state}")


@pytest.fixture
def live_run(tmp_path: Path, http_service: HttpService) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(*extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str, Path]:
        marker = tmp_path / "fault.flag"
        doc = {
            "title": "live view under a fault",
            "steady_state": {
                "strategy": "continuous",
                "frequency": "300ms",
                "probes": [
                    {"name": "api", "probe": "http", "with": {"url": http_service.url}, "expect": {"status": 200}}
                ],
            },
            "method": [{"name": "marker", "fault": "testkit.marker", "with": {"path": str(marker)}, "duration": "60s"}],
            "safety": {"max_duration": "2m"},
        }
        exp = tmp_path / "exp.yaml"
        exp.write_text(yaml.safe_dump(doc))
        port = free_port()
        process = subprocess.Popen(
            [CHAOSKIT, "run", str(exp), "--out", str(tmp_path / "runs"), "--serve", f"127.0.0.1:{port}", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        started.append(process)
        return process, f"http://127.0.0.1:{port}", marker

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_live_page_shows_the_fault_and_halt_reverts_it(live_run: Any, tmp_path: Path) -> None:
    process, base, marker = live_run()
    state = _wait_state(base, lambda s: bool(s["faults"]) and s["faults"][0]["left_s"] is not None)
    assert marker.exists()  # the fault is really in place
    assert state["current"]["title"] == "live view under a fault" and state["current"]["phase"] == "method"
    assert state["faults"][0]["name"] == "marker" and 0 < state["faults"][0]["left_s"] <= 60
    assert state["queue"] == ["exp.yaml"]

    browser = chromium()
    if browser is None:
        pytest.fail("chromium is not installed: run scripts/setup-chromium.sh (scripts/test does)")
    dom = subprocess.run(
        [
            browser,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            "--virtual-time-budget=3000",
            base + "/?once=1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert "live view under a fault" in dom and "<b>marker</b>" in dom and "s left" in dom, dom[-3000:]
    assert 'id="halt"' in dom and "live · updated" in dom

    events = urllib.request.urlopen(base + "/events", timeout=60)  # a viewer that stays until the end
    status, body = _get_post(base + "/halt")
    assert status == 200 and json.loads(body)["halted"] is True
    _, err = process.communicate(timeout=120)
    assert process.returncode == 3, err
    assert not marker.exists()  # HALT reverted the fault
    journal = json.loads(next((tmp_path / "runs").rglob("journal.json")).read_text())
    assert journal["outcome"] == "aborted" and "halted" in journal["reason"]
    last: dict[str, Any] = {}
    for line in events:  # the stream ends when chaoskit exits; its last event is the final state
        if line.startswith(b"data: "):
            last = json.loads(line[6:])
    assert last["finished"] is True and last["done"][0]["outcome"] == "aborted" and last["halted"]
    assert subprocess.run([CHAOSKIT, "halt", "--release"], capture_output=True, timeout=60).returncode == 0


def _get_post(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=b'{"reason": "test pressed HALT"}', method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status), answer.read()


def test_a_token_is_required_when_set(live_run: Any) -> None:
    process, base, _ = live_run("--serve-token-env", "LIVE_TOKEN", env={"LIVE_TOKEN": "tok-123456"})
    _wait_token = time.monotonic() + 60
    while time.monotonic() < _wait_token:
        try:
            status, _ = _get(base + "/state")
            break
        except OSError:
            time.sleep(0.1)
    assert status == 401
    assert _get(base + "/state?token=tok-123456")[0] == 200
    assert _get(base + "/?token=wrong")[0] == 401
    for path in ("/note", "/gate", "/halt"):  # the page's actions too: nothing is taken without the token
        request = urllib.request.Request(
            base + path, data=b'{"text": "x"}', method="POST", headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401, path
    headers = {"Content-Type": "application/json", "Authorization": "Bearer tok-123456"}
    request = urllib.request.Request(base + "/note", data=b'{"text": "with the token"}', method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read())["note"]["text"] == "with the token"
    process.terminate()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err


def test_off_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({"title": "t", "method": [{"pause": "1s"}]}))
    result = subprocess.run(
        [CHAOSKIT, "run", str(exp), "--serve", "0.0.0.0:0"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 64 and "not a loopback address" in result.stderr


def test_a_note_on_the_page_of_several_runs_reaches_the_journal_and_the_index(
    tmp_path: Path, http_service: HttpService
) -> None:
    for name in ("a", "b"):
        doc = {
            "title": f"noted {name}",
            "steady_state": {
                "probes": [{"probe": "http", "with": {"url": http_service.url}, "expect": {"status": 200}}]
            },
            "method": [{"fault": "testkit.marker", "with": {"path": str(tmp_path / f"{name}.flag")}, "duration": "3s"}],
        }
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    argv = [CHAOSKIT, "run", "a.yaml", "b.yaml", "--out", "runs", "--serve", "127.0.0.1:0", "--quiet"]
    with LiveProcess(argv, cwd=tmp_path) as live:
        wait_for(lambda: (tmp_path / "a.flag").exists(), 60, "a's fault")
        status, answer = live.post("/note", {"text": "a is in"})
        assert status == 200 and answer["note"]["by"] == "live view (127.0.0.1)"
        assert live.wait(60) == 0, live.stderr_text()
    journals = {j["title"]: j for j in (json.loads(p.read_text()) for p in (tmp_path / "runs").rglob("journal.json"))}
    assert [n["text"] for n in journals["noted a"]["notes"]] == ["a is in"] and journals["noted b"]["notes"] == []
    index = (tmp_path / "runs" / "index.html").read_text()
    assert "a is in" in index and index.count('class="run"') == 2
