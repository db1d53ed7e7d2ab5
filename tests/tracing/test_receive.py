"""The run receives the application's own spans (``tracing.receive``) from a real service in its own process that
exports with the OpenTelemetry SDK's OTLP exporters (HTTP/protobuf and gRPC), or through a real Collector."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chaoskit.model.journal import Outcome
from chaoskit.ports import free_port
from chaoskit.report.html import render_html
from tests.conftest import wait_port
from tests.tracing.tracekit import file_spans, otelcol_binary, run_doc

APP = Path(__file__).with_name("otlp_app.py")


@dataclass
class App:
    url: str
    broken: Path
    requests: int = 0


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Any]:
    started: list[tuple[subprocess.Popen[bytes], threading.Event]] = []

    def start(endpoint: str, protocol: str = "http") -> App:
        port_file = tmp_path / f"app-{len(started)}.port"
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "PATH": "/usr/bin:/bin"}
        process = subprocess.Popen(
            [
                sys.executable,
                str(APP),
                "--port-file",
                str(port_file),
                "--broken",
                str(tmp_path / "broken"),
                "--protocol",
                protocol,
            ],
            env=env,
        )
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert process.poll() is None, "the app exited before it listened"
            assert time.monotonic() < deadline, "the app did not listen within 30 s"
            time.sleep(0.05)
        app = App(f"http://127.0.0.1:{port_file.read_text()}/", tmp_path / "broken")
        stop = threading.Event()

        def traffic() -> None:  # bounded: at most 90 s, every 30 ms
            end = time.monotonic() + 90
            while not stop.is_set() and time.monotonic() < end:
                with contextlib.suppress(urllib.error.URLError, OSError):
                    urllib.request.urlopen(app.url, timeout=2).close()
                app.requests += 1
                stop.wait(0.03)

        threading.Thread(target=traffic, daemon=True).start()
        started.append((process, stop))
        return app

    yield start
    for process, stop in started:
        stop.set()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def experiment(receive: dict[str, Any], app: App, **extra: Any) -> dict[str, Any]:
    return {
        "title": "the app's own spans",
        "tracing": {"receive": {"wait": "10s", "ttr": {"service": "app", "hold": "1s"}, **receive}},
        "steady_state": {
            "strategy": "continuous",
            "frequency": "300ms",
            "probes": [
                {"name": "app answers", "probe": "http", "with": {"url": app.url}, "expect": {"status": 200}},
                {
                    "name": "app errors",
                    "probe": "trace.error_rate",
                    "with": {"service": "app", "kind": "server", "last": "1s"},
                    "expect": {"max": 0.2},
                },
            ],
        },
        "method": [
            {"pause": "2s"},  # an exporter that found nobody listening before the run may still be catching up
            {"probe": "trace.count", "with": {"service": "app", "kind": "server", "last": "2s"}},
            {"fault": "testkit.marker", "with": {"path": str(app.broken)}, "duration": "3s"},
            {"pause": "0.5s"},
        ],
        "recovery": {"within": "15s", "interval": "300ms"},
        **extra,
    }


def test_http_receiver_judges_the_apps_spans(tmp_path: Path, start_app: Any) -> None:
    port = free_port()
    app = start_app(f"http://127.0.0.1:{port}")
    journal = run_doc(experiment({"http": f"127.0.0.1:{port}"}, app), tmp_path)

    # the fault made the app's server spans fail: the continuous trace check saw it, so the run deviated
    assert journal.outcome is Outcome.DEVIATED, journal.reason
    during = [o for o in journal.observations if o.probe == "app errors" and o.phase == "method"]
    assert any(o.value is not None and o.value > 0.5 for o in during), [o.value for o in during]
    count = next(o for o in journal.observations if o.plugin == "trace.count")
    assert count.value >= 5  # ~30 requests/s
    traces = journal.traces
    assert traces is not None and traces.received > 50 and traces.refused == 0
    assert traces.http == f"127.0.0.1:{port}" and traces.services == ["app"]
    by_window = {row.window: row for row in traces.windows if row.service == "app"}
    assert by_window["before"].errors == 0
    fault = by_window["fault testkit.marker"]
    assert fault.errors / fault.spans > 0.8 and fault.p95_ms is not None and fault.p95_ms >= 140
    assert by_window["after revert"].spans > 0
    # recovery polls judged only spans that ended after the last revert (never the fault's 503s)
    recovery = [o for o in journal.observations if o.probe == "app errors" and o.phase == "recovery"]
    assert recovery and all(o.details["after_last_revert"] for o in recovery)
    assert all(o.value is None or o.value < 0.5 for o in recovery), [o.value for o in recovery]
    # recovered: the trace-derived TTR exists and is short (the app heals as soon as the marker is gone)
    assert traces.ttr_s is not None and traces.ttr_s <= 3, traces
    # one picture: the app's spans that continue the run's trace (from the http probe) are in trace.json
    spans = file_spans(Path(journal.artifacts["trace"]))
    app_spans = [s for s in spans if s["name"] in ("GET /", "GET dependency")]
    assert any(s["traceId"] == journal.trace_id for s in app_spans)
    assert json.loads(Path(journal.artifacts["journal"]).read_text())["traces"]["received"] == traces.received
    page = render_html(journal)
    assert 'id="trace-windows"' in page and "fault testkit.marker" in page and "Healthy again after" in page


def test_grpc_receiver(tmp_path: Path, start_app: Any) -> None:
    port = free_port()
    app = start_app(f"http://127.0.0.1:{port}", protocol="grpc")
    journal = run_doc(experiment({"http": None, "grpc": f"127.0.0.1:{port}"}, app), tmp_path)
    assert journal.outcome is Outcome.DEVIATED, journal.reason
    assert journal.traces is not None and journal.traces.received > 50
    assert journal.traces.grpc == f"127.0.0.1:{port}" and journal.traces.http is None


def test_collector_forwards_to_the_receiver(tmp_path: Path, start_app: Any) -> None:
    """A real OpenTelemetry Collector in front: the app exports to the collector, which forwards to chaoskit."""
    binary = otelcol_binary()
    if binary is None or not binary.exists():
        message = "no OpenTelemetry Collector built: run scripts/setup-otelcol.sh (needs Go)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port, in_port = free_port(), free_port()
    forward = tmp_path / "forward.yaml"
    forward.write_text(
        "receivers:\n"
        "  otlp:\n"
        f"    protocols: {{http: {{endpoint: '127.0.0.1:{in_port}'}}}}\n"
        "exporters:\n"
        f"  otlphttp: {{endpoint: 'http://127.0.0.1:{port}', compression: gzip}}\n"
        "service:\n"
        "  telemetry: {metrics: {level: none}}\n"
        "  pipelines:\n"
        "    traces: {receivers: [otlp], exporters: [otlphttp]}\n"
    )
    log = tmp_path / "collector.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([str(binary), "--config", f"file:{forward}"], stdout=sink, stderr=sink)
    try:
        wait_port(in_port, 30)
        app = start_app(f"http://127.0.0.1:{in_port}")
        journal = run_doc(experiment({"http": f"127.0.0.1:{port}"}, app), tmp_path)
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert journal.traces is not None and journal.traces.received > 50, (journal.traces, log.read_text()[-3000:])
    assert journal.traces.refused == 0  # gzip bodies from the collector are accepted


def _post(port: int, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/traces", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_bad_payloads_are_refused_without_disturbing_the_run(tmp_path: Path, start_app: Any) -> None:
    port = free_port()
    app = start_app(f"http://127.0.0.1:{port}")
    statuses: dict[str, int] = {}

    def attack() -> None:
        time.sleep(1.0)
        proto = {"Content-Type": "application/x-protobuf"}
        statuses["malformed"] = _post(port, b"\xff\x00 not protobuf", proto)
        statuses["oversized"] = _post(port, b"\x00" * (2 * 1024 * 1024), proto)
        statuses["bomb"] = _post(
            port, gzip.compress(b"\x00" * (8 * 1024 * 1024)), {**proto, "Content-Encoding": "gzip"}
        )
        statuses["json"] = _post(port, b"{}", {"Content-Type": "application/json"})

    thread = threading.Thread(target=attack)
    thread.start()
    doc = experiment({"http": f"127.0.0.1:{port}", "max_body": 1024 * 1024}, app)
    doc["method"] = [{"pause": "3s"}]
    journal = run_doc(doc, tmp_path)
    thread.join()
    assert statuses == {"malformed": 400, "oversized": 413, "bomb": 413, "json": 415}
    assert journal.outcome is Outcome.PASSED, journal.reason  # the app's own spans still arrived and were judged
    assert journal.traces is not None and journal.traces.refused == 4 and journal.traces.received > 50


def test_a_token_is_required_when_set(tmp_path: Path, start_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTLP_TOKEN", "s3cret-token-value")
    port = free_port()
    app = start_app(f"http://127.0.0.1:{port}")  # its exporter sends no token: every export is refused
    doc = experiment({"http": f"127.0.0.1:{port}", "token_env": "OTLP_TOKEN", "wait": "2s"}, app)
    doc["steady_state"]["probes"] = doc["steady_state"]["probes"][:1]
    doc["method"] = [{"pause": "1s"}]
    journal = run_doc(doc, tmp_path)
    assert journal.traces is not None and journal.traces.received == 0 and journal.traces.refused > 0
    assert "Bearer" in journal.traces.last_refusal
    assert "s3cret-token-value" not in Path(journal.artifacts["journal"]).read_text()


def test_trace_probes_without_receive_are_invalid(tmp_path: Path) -> None:
    from chaoskit.errors import ValidationFailed
    from chaoskit.loader import validate_document

    doc = {"title": "t", "method": [{"probe": "trace.error_rate", "with": {"last": "5s"}}]}
    with pytest.raises(ValidationFailed, match=r"trace.error_rate read the application's spans: add 'tracing"):
        validate_document(doc)
    doc["tracing"] = {"receive": {"http": "10.1.2.3:4318"}}
    with pytest.raises(ValidationFailed, match="not a loopback address: set token_env"):
        validate_document(doc)
