"""Secrets never appear in any output of a real run (chaoskit/redaction.py states the rule).

A real ``chaoskit run`` (and ``--dry-run``, and a pytest run with JUnit XML) against a real loopback HTTP server
that echoes what it receives. The secret is used in step names and the title, passed to an action that prints its
arguments, sent as an ``Authorization`` header and in a URL query (echoed back), and a numeric secret comes back as
a probe's JSON value. Every stream and every file the run leaves (journal, report, trace, summary, JUnit, every
version of the revert ledger) is searched for it."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from chaoskit import redaction
from chaoskit.errors import ValidationFailed
from chaoskit.loader import validate_document
from tests.conftest import run_cli

TOKEN = "tok&<" + secrets.token_hex(8) + ">"  # characters that HTML, JSON and URLs all escape differently
PIN = secrets.randbelow(9 * 10**8) + 10**8  # nine digits, a number in the file
PIN_RE = re.compile(rf"(?<![\d.]){PIN}(?!\d)")


class _Server(ThreadingHTTPServer):
    request_queue_size = 64
    daemon_threads = True


class _Echo(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.path.startswith("/pin"):
            body: dict[str, Any] = {"pin": PIN}
        else:
            body = {"path": self.path, "headers": dict(self.headers)}
        self.seen.append(json.dumps(body))
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def experiment(url: str, expect_pin: int) -> str:
    return f"""
title: "secrets ${{token}} run"
secrets:
  token: {{env: CK_SECRET_TOKEN}}
  pin: {PIN}
steady_state:
  probes:
    - name: "echo ${{token}}"
      probe: http
      with:
        url: "{url}/echo?t=${{token}}"
        headers: {{Authorization: "Bearer ${{token}}"}}
      expect: {{status: 200}}
method:
  - fault: testkit.marker
    name: "marker ${{token}}"
    with: {{path: marker}}
    duration: 1500ms
  - action: process
    name: "print ${{token}} ${{pin}}"
    with: {{command: [echo, "${{token}}", "pin=${{pin}}"]}}
  - probe: process
    with: {{command: [echo, "pin ${{pin}}"]}}
  - name: pin is back
    probe: http
    with: {{url: "{url}/pin"}}
    expect: {{jsonpath: "$.pin", equals: {expect_pin}}}
recovery: {{within: 2s, interval: 200ms}}
"""


def leaks(text: str) -> list[str]:
    found = [form for form in redaction._forms(TOKEN) if form in text]
    return found + (["the pin"] if PIN_RE.search(text) else [])


def watch_ledgers(state: Path, stop: threading.Event, versions: list[str]) -> None:
    """Keep every version of every ledger file written while the run goes on."""
    while not stop.is_set():
        for path in state.rglob("*"):
            if path.is_file():
                try:
                    text = path.read_text(errors="replace")
                except OSError:
                    continue
                if text not in versions:
                    versions.append(text)
        stop.wait(0.02)


def test_a_real_run_shows_no_secret_anywhere(tmp_path: Path, echo: str, isolated_state: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(experiment(echo, PIN + 1))  # the pin check deviates: failure text shows the values
    env = {"CK_SECRET_TOKEN": TOKEN}
    versions: list[str] = []
    stop = threading.Event()
    watcher = threading.Thread(target=watch_ledgers, args=(isolated_state, stop, versions), daemon=True)
    watcher.start()
    try:
        result = run_cli(
            "run", str(exp), "--out", str(tmp_path / "runs"), "--summary-md", str(tmp_path / "s.md"), env=env
        )
        as_json = run_cli("run", str(exp), "--out", str(tmp_path / "runs"), "--json", env=env)
        dry = run_cli("run", str(exp), "--out", str(tmp_path / "runs"), "--dry-run", "--json", env=env)
    finally:
        stop.set()
        watcher.join()
    assert result.returncode == 1, result.stderr  # deviated: the pin probe
    assert any(TOKEN in seen for seen in _Echo.seen)  # the secret really went out and came back
    assert any(str(PIN) in seen for seen in _Echo.seen)
    assert any('"entries"' in v for v in versions), "the ledger was never seen"
    outputs = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "json stdout": as_json.stdout,
        "json stderr": as_json.stderr,
        "dry-run": dry.stdout + dry.stderr,
    }
    outputs |= {f"ledger version {i}": text for i, text in enumerate(versions)}
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "exp.yaml"]
    outputs |= {str(p.relative_to(tmp_path)): p.read_text(errors="replace") for p in files}
    names = {p.name for p in files}
    assert {"journal.json", "report.html", "trace.json", "s.md"} <= names, names
    leaked = {where: leaks(text) for where, text in outputs.items() if leaks(text)}
    assert not leaked, leaked
    journal = json.loads(next(p for p in files if p.name == "journal.json").read_text())
    assert journal["title"] == "secrets *** run"
    shown = json.dumps(journal)
    assert "Bearer ***" in shown and "print *** ***" in shown


def test_pytest_failure_text_and_junit_show_no_secret(tmp_path: Path, echo: str) -> None:
    (tmp_path / "exp.chaos.yaml").write_text(experiment(echo, PIN + 1))
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--chaos", "-p", "no:cacheprovider", f"--junitxml={junit}", "-q", "-rA"],
        cwd=tmp_path,
        env={**__import__("os").environ, "CK_SECRET_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the pin probe deviated
    assert "pin is back" in proc.stdout
    everything = proc.stdout + proc.stderr + junit.read_text()
    everything += "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.json"))
    assert not leaks(everything), leaks(everything)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ab", "2 characters long"),
        (12, "2 characters long"),
        (True, "a boolean cannot be kept secret"),
        (["long-enough-secret", "x"], "1 character long"),
    ],
)
def test_secrets_too_short_to_hide_are_refused(value: Any, message: str) -> None:
    doc = {"title": "t", "secrets": {"s": value}, "method": [{"pause": 0}]}
    with pytest.raises(ValidationFailed) as info:
        validate_document(doc)
    problem = next(p for p in info.value.problems if p.path == "secrets.s")
    assert message in problem.message


def test_the_cli_refuses_a_short_secret_without_printing_it(tmp_path: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text("title: t\nsecrets: {s: {env: CK_SHORT}}\nmethod: [{pause: 0}]\n")
    result = run_cli("validate", str(exp), env={"CK_SHORT": "q7"})
    assert result.returncode == 5
    assert "secrets.s" in result.stderr and "at least 6" in result.stderr and "q7" not in result.stderr


def test_a_secret_in_a_validation_message_is_hidden() -> None:
    doc = {"title": "t", "secrets": {"s": "hunter2-long"}, "method": [{"pause": "${s}"}]}
    with pytest.raises(ValidationFailed) as info:
        validate_document(doc)
    assert "hunter2-long" not in str(info.value) and "***" in str(info.value)


def test_scrub_keeps_types_and_hides_every_form() -> None:
    redaction.register({"k": "only-text-secret"})
    assert redaction.scrub_text("x 12 y") == "x 12 y"  # no numeric secret: numbers untouched
    redaction.register({"k": "p@ss word/42", "n": 987654321})
    assert redaction.scrub({"a": 987654321, "b": [1, "x p@ss word/42 y"], "c": 9876543210}) == {
        "a": "***",
        "b": [1, "x *** y"],
        "c": 9876543210,  # a longer number is not the secret
    }
    assert redaction.scrub_text("q=p%40ss%20word%2F42&r=p%40ss+word%2F42") == "q=***&r=***"
    assert redaction.scrub_text("ts=1.987654321 id=987654321") == "ts=1.987654321 id=***"
    assert redaction.scrub({"n": 987654321}, numbers=False) == {"n": 987654321}


def test_validate_output_hides_a_secret_quoted_in_a_problem(tmp_path: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text("title: t\nsecrets: {s: {env: CK_LONG}}\nmethod: [{pause: '${s}'}]\n")
    for args in (("validate", "--json", str(exp)), ("validate", str(exp)), ("run", str(exp))):
        result = run_cli(*args, env={"CK_LONG": "quoted-secret-1234"})
        assert result.returncode == 5, result.stderr
        shown = result.stdout + result.stderr
        assert "method[0].pause" in shown and "***" in shown
        assert "quoted-secret-1234" not in shown
