"""Tracing configuration (experiment block vs OTEL_* variables), cheap imports, and the trace on the
paths out of a run that are not a normal end (a bad configuration, Ctrl-C in a real CLI process)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chaoskit.model.experiment import TracingSpec
from chaoskit.model.journal import Outcome
from chaoskit.tracing.setup import OtlpTarget, TracingConfigError, resolve_otlp, service_name
from tests.tracing.tracekit import file_spans, run_doc


def test_no_endpoint_means_no_network_export() -> None:
    assert resolve_otlp(TracingSpec(), env={}) is None


def test_the_experiment_block_wins_over_the_environment() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    spec = TracingSpec(endpoint="http://block:4318/", protocol="http/protobuf", service_name="svc")
    assert resolve_otlp(spec, env) == OtlpTarget("http/protobuf", "http://block:4318/v1/traces")
    assert service_name(spec, {"OTEL_SERVICE_NAME": "env-svc"}) == "svc"


def test_standard_variables() -> None:
    assert resolve_otlp(TracingSpec(), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == OtlpTarget(
        "http/protobuf", "http://c:4318/v1/traces"
    )
    # a signal-specific endpoint is used as it is, and wins over the generic one
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:1/x"}
    assert resolve_otlp(TracingSpec(), env) == OtlpTarget("http/protobuf", "http://t:1/x")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}
    assert resolve_otlp(TracingSpec(), env) == OtlpTarget("grpc", "http://c:4317")
    assert service_name(TracingSpec(), {"OTEL_SERVICE_NAME": "env-svc"}) == "env-svc"
    assert service_name(TracingSpec(), {}) == "chaoskit"


def test_an_unsupported_protocol_is_named() -> None:
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}
    with pytest.raises(TracingConfigError, match=r"OTEL_EXPORTER_OTLP_PROTOCOL='http/json'.*http/protobuf"):
        resolve_otlp(TracingSpec(), env)


def test_a_bad_otel_variable_is_recorded_and_the_run_still_has_its_trace_file(
    tmp_path: Path, http_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    doc = {
        "title": "bad otel env",
        "steady_state": {
            "probes": [{"name": "api", "probe": "http", "with": {"url": http_service.url}, "expect": {"status": 200}}]
        },
        "method": [{"pause": "50ms"}],
    }
    journal = run_doc(doc, tmp_path)
    assert journal.outcome is Outcome.PASSED
    assert [e.where for e in journal.errors] == ["tracing setup"]
    assert "http/json" in journal.errors[0].message
    assert file_spans(Path(journal.artifacts["trace"]))


def test_importing_chaoskit_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, chaoskit, chaoskit.runner, chaoskit.cli, chaoskit.tracing\n"
        "print([m for m in sys.modules if m.startswith(('opentelemetry', 'google.protobuf', 'grpc', 'requests'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_ctrl_c_still_writes_the_trace_with_the_fault_window_closed(tmp_path: Path, http_service: Any) -> None:
    exp = tmp_path / "held.yaml"
    exp.write_text(
        "title: interrupted\n"
        "steady_state:\n"
        "  strategy: continuous\n"
        "  frequency: 200ms\n"
        "  probes:\n"
        f"    - {{name: api, probe: http, with: {{url: '{http_service.url}'}}, expect: {{status: 200}}}}\n"
        "method:\n"
        "  - {name: marker, fault: testkit.marker, with: {path: m.txt}, duration: 60s}\n"
    )
    chaoskit = str(Path(sys.executable).with_name("chaoskit"))
    proc = subprocess.Popen(
        [chaoskit, "run", str(exp), "--out", str(tmp_path / "runs"), "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 60
        while not (tmp_path / "m.txt").exists():
            assert time.monotonic() < end and proc.poll() is None, "the fault was never injected"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    verdict = json.loads(stdout)
    journal = json.loads(Path(verdict["journal"]).read_text())
    assert not (tmp_path / "m.txt").exists()
    spans = {s["name"]: s for s in file_spans(Path(journal["artifacts"]["trace"]))}
    root = spans["chaoskit interrupted"]
    attrs = {a["key"]: a["value"] for a in root["attributes"]}
    assert attrs["chaoskit.run.outcome"] == {"stringValue": "interrupted"}
    assert root["status"]["code"] == 2  # STATUS_CODE_ERROR
    window = spans["fault marker"]
    assert [e["name"] for e in window["events"]] == ["chaoskit.fault.injected", "chaoskit.fault.reverted"]
    assert int(window["endTimeUnixNano"]) <= int(root["endTimeUnixNano"])


def test_a_bad_endpoint_in_the_experiment_is_a_validation_error_with_its_path(tmp_path: Path) -> None:
    from chaoskit.errors import ValidationFailed
    from chaoskit.loader import validate_document

    doc = {"title": "t", "method": [{"pause": "1ms"}], "tracing": {"endpoint": "collector:4318"}}
    with pytest.raises(ValidationFailed) as caught:
        validate_document(doc, source="exp.yaml")
    assert [p.path for p in caught.value.problems] == ["tracing.endpoint"]
