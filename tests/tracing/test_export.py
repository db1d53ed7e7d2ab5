"""Where the trace goes: the OTLP JSON file next to the journal, and a real OpenTelemetry Collector
(built from the Go module proxy by scripts/setup-otelcol.sh) over OTLP/HTTP and OTLP/gRPC."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaoskit.model.journal import Outcome
from chaoskit.ports import free_port
from tests.tracing.tracekit import Collector, file_spans, run_doc


def _experiment(url: str, **tracing: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": "exported",
        "steady_state": {
            "probes": [{"name": "api", "probe": "http", "with": {"url": url}, "expect": {"status": 200}}],
        },
        "method": [{"name": "marker", "fault": "testkit.marker", "with": {"path": "m.txt"}, "duration": "300ms"}],
        "recovery": {"within": "5s", "interval": "100ms"},
    }
    if tracing:
        doc["tracing"] = tracing
    return doc


@pytest.fixture
def no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_SERVICE_NAME",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_otel_env")
def test_every_run_writes_an_otlp_json_trace_next_to_the_journal(tmp_path: Path, http_service: Any) -> None:
    journal = run_doc(_experiment(http_service.url), tmp_path)
    assert journal.outcome is Outcome.PASSED, journal.reason
    assert journal.errors == []
    path = Path(journal.artifacts["trace"])
    assert path.name == "trace.json" and path.parent == Path(journal.artifacts["journal"]).parent
    spans = file_spans(path)
    assert {s["traceId"] for s in spans} == {journal.trace_id}
    names = {s["name"] for s in spans}
    assert {"chaoskit exported", "baseline", "method", "revert", "recovery", "inject marker", "fault marker"} <= names
    root = next(s for s in spans if s["name"] == "chaoskit exported")
    assert "parentSpanId" not in root or root["parentSpanId"] == ""
    ids = {s["spanId"] for s in spans}
    assert all(len(i) == 16 for i in ids) and len(ids) == len(spans)
    assert all(s["parentSpanId"] in ids for s in spans if s is not root)
    attrs = {a["key"]: a["value"] for a in root["attributes"]}
    assert attrs["chaoskit.run.id"] == {"stringValue": journal.run_id}
    assert attrs["chaoskit.run.outcome"] == {"stringValue": "passed"}
    # journal.json on disk also names the trace
    on_disk = (path.parent / "journal.json").read_text()
    assert journal.trace_id in on_disk and str(path) in on_disk


@pytest.mark.usefixtures("no_otel_env")
def test_spans_reach_a_real_collector_over_otlp_http(tmp_path: Path, http_service: Any, collector: Collector) -> None:
    doc = _experiment(http_service.url, endpoint=collector.http_endpoint, service_name="gameday-http")
    journal = run_doc(doc, tmp_path)
    assert journal.outcome is Outcome.PASSED, journal.reason
    assert journal.errors == []
    local = file_spans(Path(journal.artifacts["trace"]))
    assert journal.trace_id is not None
    received = collector.wait_for_trace(journal.trace_id, len(local))
    assert sorted((s["spanId"], s["name"]) for s in received) == sorted((s["spanId"], s["name"]) for s in local)
    assert {s["service"] for s in received} == {"gameday-http"}


def test_spans_reach_a_real_collector_over_otlp_grpc_from_env(
    tmp_path: Path, http_service: Any, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc_endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gameday-grpc")
    journal = run_doc(_experiment(http_service.url), tmp_path)
    assert journal.outcome is Outcome.PASSED, journal.reason
    assert journal.errors == []
    assert journal.trace_id is not None
    local = file_spans(Path(journal.artifacts["trace"]))
    received = collector.wait_for_trace(journal.trace_id, len(local))
    assert {s["spanId"] for s in received} == {s["spanId"] for s in local}
    assert {s["service"] for s in received} == {"gameday-grpc"}


@pytest.mark.usefixtures("no_otel_env")
def test_the_trace_file_is_otlp_json_a_collector_accepts(
    tmp_path: Path, http_service: Any, collector: Collector
) -> None:
    journal = run_doc(_experiment(http_service.url), tmp_path)
    path = Path(journal.artifacts["trace"])
    request = urllib.request.Request(
        f"{collector.http_endpoint}/v1/traces",
        data=path.read_bytes(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    local = file_spans(path)
    assert journal.trace_id is not None
    received = collector.wait_for_trace(journal.trace_id, len(local))
    # the collector decoded every span with the same ids, parents and times
    key = [("spanId", "parentSpanId", "name", "startTimeUnixNano", "endTimeUnixNano")]
    assert sorted(tuple(str(s.get(k, "")) for k in key[0]) for s in received) == sorted(
        tuple(str(s.get(k, "")) for k in key[0]) for s in local
    )


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never answers: a hung collector."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield int(s.getsockname()[1])


def _closed_port() -> int:
    return free_port()  # nothing listens there (free a moment ago)


@pytest.mark.usefixtures("no_otel_env")
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
@pytest.mark.parametrize("how", ["refused", "hung"])
def test_a_collector_that_is_down_costs_at_most_the_export_timeout(
    tmp_path: Path, http_service: Any, blackhole: int, how: str, protocol: str
) -> None:
    port = _closed_port() if how == "refused" else blackhole
    endpoint = f"http://127.0.0.1:{port}"
    doc = _experiment(http_service.url, endpoint=endpoint, protocol=protocol, export_timeout="1500ms")
    started = time.monotonic()
    journal = run_doc(doc, tmp_path)
    wall = time.monotonic() - started
    assert journal.outcome is Outcome.PASSED, journal.reason
    assert journal.ended_at is not None
    overhead = wall - (journal.ended_at - journal.started_at)
    print(f"{protocol} {how}: export overhead {overhead:.2f}s; error: {journal.errors[-1].message}")
    assert overhead < 1.5 + 3.0, f"exporting to a {how} collector took {overhead:.1f}s after the run"
    errors = [e for e in journal.errors if e.where.startswith("tracing export")]
    assert len(errors) == 1, journal.errors
    assert endpoint in errors[0].where and errors[0].type == "TracingExportError"
    # the trace is still complete on disk
    assert Path(journal.artifacts["trace"]).exists()
    assert "trace.json" in errors[0].message
    if how == "refused":
        assert "Connection refused" in errors[0].message


def test_a_down_collector_is_shown_by_the_cli(tmp_path: Path, http_service: Any, cli: Any) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "title: cli traced\n"
        "steady_state:\n"
        "  probes:\n"
        f"    - {{name: api, probe: http, with: {{url: '{http_service.url}'}}, expect: {{status: 200}}}}\n"
        "method:\n"
        "  - {pause: 100ms}\n"
        "tracing: {export_timeout: 1s}\n"
    )
    port = _closed_port()
    result = cli(
        "run",
        str(exp),
        "--out",
        str(tmp_path / "runs"),
        env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces"},
    )
    assert result.returncode == 0, result.stderr
    assert f"tracing export (http/protobuf http://127.0.0.1:{port}/v1/traces)" in result.stderr
    assert "trace:" in result.stderr and "trace.json" in result.stderr


def test_secrets_never_reach_a_collector(tmp_path: Path, http_service: Any, collector: Collector) -> None:
    """The trace sent over OTLP is scrubbed like the file: a secret in the title, a probe name and a fault's target."""
    secret = "s3cr3t-" + "x7q9z2"
    doc = _experiment(http_service.url)
    doc["title"] = "uses ${token}"
    doc["secrets"] = {"token": secret}
    doc["tracing"] = {"endpoint": collector.http_endpoint}
    doc["steady_state"]["probes"][0]["name"] = "health ${token}"
    doc["method"][0]["with"]["path"] = "m-${token}.txt"  # the fault's describe() text holds it
    journal = run_doc(doc, tmp_path)
    assert journal.trace_id is not None
    local = file_spans(Path(journal.artifacts["trace"]))
    received = collector.wait_for_trace(journal.trace_id, len(local))
    sent = json.dumps(received)
    assert secret not in sent and "***" in sent
    assert secret not in Path(journal.artifacts["trace"]).read_text()
