"""The shape of a run's trace, on real runs (testkit marker fault, http probes against a real service)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from chaoskit.errors import PluginError
from chaoskit.hooks import hookimpl
from chaoskit.loader import validate_document
from chaoskit.model.experiment import TracingSpec
from chaoskit.model.journal import Journal, Outcome
from chaoskit.runner import RunOptions, run_experiment
from chaoskit.tracing.recorder import RunTracer
from tests.tracing.tracekit import Recorded, file_spans, run_doc


def _by_name(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = _by_name(spans, name)
    assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in spans]}"
    return found[0]


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _span_id(span: ReadableSpan) -> int:
    ctx = span.get_span_context()
    assert ctx is not None
    return ctx.span_id


def _experiment(url: str, marker: str = "marker.txt") -> dict[str, Any]:
    return {
        "title": "traced run",
        "steady_state": {
            "strategy": "continuous",
            "frequency": "200ms",
            "probes": [{"name": "api", "probe": "http", "with": {"url": f"{url}/health"}, "expect": {"status": 200}}],
        },
        "method": [
            {"name": "marker", "fault": "testkit.marker", "with": {"path": marker}, "duration": "1200ms"},
            {"name": "check once", "probe": "http", "with": {"url": f"{url}/once"}, "expect": {"status": 200}},
        ],
        "recovery": {"within": "10s", "interval": "200ms"},
    }


def test_a_run_is_one_trace_with_phases_activities_and_fault_window(
    tmp_path: Path, http_service: Any, recorded: Recorded
) -> None:
    journal = run_doc(_experiment(http_service.url), tmp_path, recorded.provider)
    assert journal.outcome is Outcome.PASSED, journal.reason
    spans = recorded.spans()

    # one trace, and the journal knows its id
    trace_ids = {trace.format_trace_id(s.context.trace_id) for s in spans if s.context}
    assert trace_ids == {journal.trace_id}

    root = _one(spans, "chaoskit traced run")
    assert root.parent is None
    attrs = dict(root.attributes or {})
    assert attrs["chaoskit.run.id"] == journal.run_id
    assert attrs["chaoskit.experiment.title"] == "traced run"
    assert attrs["chaoskit.run.outcome"] == "passed"
    assert attrs["chaoskit.run.exit_code"] == 0
    assert attrs["chaoskit.run.ttr_s"] == journal.ttr_s
    assert root.status.status_code is StatusCode.UNSET

    # phases are children of the root, in order
    phases = {name: _one(spans, name) for name in ("baseline", "method", "revert", "recovery")}
    for span in phases.values():
        assert _parent_id(span) == _span_id(root)
    assert phases["baseline"].end_time <= phases["method"].start_time  # type: ignore[operator]

    # the fault: an inject span under the method, a window span from inject to revert under the root
    inject = _one(spans, "inject marker")
    assert _parent_id(inject) == _span_id(phases["method"])
    assert dict(inject.attributes or {})["chaoskit.fault.params"] == '{"path": "marker.txt"}'
    window = _one(spans, "fault marker")
    assert _parent_id(window) == _span_id(root)
    fault = journal.faults[0]
    assert fault.injected_at is not None and fault.reverted_at is not None
    assert window.start_time == int(fault.injected_at * 1e9)
    assert window.end_time == int(fault.reverted_at * 1e9)
    assert [e.name for e in window.events] == ["chaoskit.fault.injected", "chaoskit.fault.reverted"]
    assert [e.name for e in root.events] == ["chaoskit.fault.injected", "chaoskit.fault.reverted"]
    assert dict(window.events[1].attributes or {})["chaoskit.fault.reverted"] is True

    # probes: one span per observation, under the phase they ran in
    probes = _by_name(spans, "probe api")
    observations = [o for o in journal.observations if o.probe == "api"]
    assert len(probes) == len(observations)
    by_phase: dict[str, list[ReadableSpan]] = {}
    for span in probes:
        a = dict(span.attributes or {})
        by_phase.setdefault(str(a["chaoskit.phase"]), []).append(span)
        assert _parent_id(span) == _span_id(phases[str(a["chaoskit.phase"])])
        assert a["chaoskit.probe.role"] == "steady_state"
        assert span.kind is SpanKind.CLIENT
        assert a["url.full"] == f"{http_service.url}/health"
        assert a["http.request.method"] == "GET"
        assert a["http.response.status_code"] == 200
        assert a["chaoskit.probe.ok"] is True
    assert len(by_phase["baseline"]) == 1
    assert len(by_phase["method"]) >= 3, "continuous checks: one span per iteration"
    assert len(by_phase["recovery"]) >= 1
    # a continuous check made while the fault was in place says so
    during = [s for s in by_phase["method"] if "chaoskit.faults.active" in (s.attributes or {})]
    assert during and all(tuple(s.attributes["chaoskit.faults.active"]) == ("marker",) for s in during)  # type: ignore[index]

    step = _one(spans, "probe check once")
    assert dict(step.attributes or {})["chaoskit.probe.role"] == "step"
    assert _parent_id(step) == _span_id(phases["method"])


def test_the_service_gets_traceparent_of_each_probe_span_and_baggage(
    tmp_path: Path, http_service: Any, recorded: Recorded
) -> None:
    journal = run_doc(_experiment(http_service.url), tmp_path, recorded.provider)
    assert journal.outcome is Outcome.PASSED, journal.reason
    probe_ids = {format(_span_id(s), "016x") for s in recorded.spans() if s.name in ("probe api", "probe check once")}
    seen = http_service.state.headers_seen
    assert len(seen) == len(probe_ids)
    with_fault = 0
    for raw in seen:
        headers = {k.lower(): v for k, v in raw.items()}  # urllib sends "Traceparent"
        version, trace_id, parent_id, flags = headers["traceparent"].split("-")
        assert (version, trace_id) == ("00", journal.trace_id)
        assert int(flags, 16) & 1, "sampled"
        assert parent_id in probe_ids  # the probe's own span, not the phase or the root
        entries = dict(item.split("=", 1) for item in headers["baggage"].split(","))
        assert entries["chaoskit.run_id"] == journal.run_id
        if "chaoskit.fault" in entries:
            assert entries["chaoskit.fault"] == "marker"
            with_fault += 1
    assert with_fault >= 1, "requests made while the fault was in place carry it in the baggage"


def test_abort_is_an_event_and_an_error_status(tmp_path: Path, http_service: Any, recorded: Recorded) -> None:
    http_service.state.status = 500
    doc = {
        "title": "aborting",
        "method": [{"name": "marker", "fault": "testkit.marker", "with": {"path": "m.txt"}, "duration": "20s"}],
        "safety": {
            "interval": "100ms",
            "abort_when": [
                {"name": "broken", "probe": "http", "with": {"url": http_service.url}, "expect": {"status": 500}}
            ],
        },
    }
    journal = run_doc(doc, tmp_path, recorded.provider)
    assert journal.outcome is Outcome.ABORTED
    spans = recorded.spans()
    root = _one(spans, "chaoskit aborting")
    assert root.status.status_code is StatusCode.ERROR
    assert dict(root.attributes or {})["error.type"] == "aborted"
    names = [e.name for e in root.events]
    assert names == ["chaoskit.fault.injected", "chaoskit.aborted", "chaoskit.fault.reverted"]
    assert "broken" in str(dict(root.events[1].attributes or {})["chaoskit.abort.reason"])
    # abort_when probes run in the monitor thread and hang under the method phase
    method = _one(spans, "method")
    broken = _by_name(spans, "probe broken")
    assert broken and all(_parent_id(s) == _span_id(method) for s in broken)
    assert dict(broken[0].attributes or {})["chaoskit.probe.role"] == "abort_when"
    assert broken[0].status.status_code is StatusCode.UNSET  # a match is not an error of the probe
    # the window still closes: the fault was reverted
    window = _one(spans, "fault marker")
    assert window.end_time is not None and not (tmp_path / "m.txt").exists()


def test_failures_carry_error_type(tmp_path: Path, http_service: Any, recorded: Recorded) -> None:
    doc = {
        "title": "failing",
        "steady_state": {
            "probes": [{"name": "api", "probe": "http", "with": {"url": http_service.url}, "expect": {"status": 200}}]
        },
        "method": [
            {"name": "down", "probe": "http", "with": {"url": "http://127.0.0.1:9/", "timeout": "1s"}},
            {"name": "boom", "action": "testkit.fail"},
        ],
    }
    journal = run_doc(doc, tmp_path, recorded.provider)
    assert journal.outcome is Outcome.ERROR
    spans = recorded.spans()
    down = dict(_one(spans, "probe down").attributes or {})
    assert down["error.type"] == "probe_failed"
    boom = _one(spans, "action boom")
    assert boom.status.status_code is StatusCode.ERROR
    assert dict(boom.attributes or {})["error.type"] == "action_failed"
    assert "failing on purpose" in (boom.status.description or "")
    root = _one(spans, "chaoskit failing")
    assert dict(root.attributes or {})["chaoskit.run.outcome"] == "error"


def test_tracing_disabled_records_nothing(tmp_path: Path, http_service: Any, recorded: Recorded) -> None:
    doc = _experiment(http_service.url)
    doc["tracing"] = {"enabled": False}
    journal = run_doc(doc, tmp_path, recorded.provider)
    assert journal.outcome is Outcome.PASSED
    assert recorded.spans() == []
    assert journal.trace_id is None and "trace" not in journal.artifacts
    assert all("traceparent" not in {k.lower() for k in h} for h in http_service.state.headers_seen)


class _RefusingHook:
    @hookimpl
    def chaoskit_run_started(self, journal: Any) -> None:
        raise PluginError("the target is not ready")


def test_a_run_stopped_at_start_still_has_its_trace(tmp_path: Path, http_service: Any, recorded: Recorded) -> None:
    doc = _experiment(http_service.url)
    source = tmp_path / "experiment.yaml"
    source.write_text("# test\n")
    loaded = validate_document(doc, source=str(source))
    options = RunOptions(
        out_dir=tmp_path / "runs", handle_signals=False, tracer_provider=recorded.provider, hooks=[_RefusingHook()]
    )
    journal = run_experiment(loaded, options)
    assert journal.outcome is Outcome.ERROR
    root = _one(recorded.spans(), "chaoskit traced run")
    assert dict(root.attributes or {})["chaoskit.run.outcome"] == "error"
    assert not _by_name(recorded.spans(), "inject marker")


def test_the_root_span_exists_even_when_run_started_never_reached_the_recorder(tmp_path: Path) -> None:
    # an entry-point hook registered before the recorder may stop the run first: run_finished starts the root
    tracer = RunTracer(TracingSpec(file=True), lambda: tmp_path, lambda where, exc: None)
    journal = Journal(run_id="r1", chaoskit_version="0", title="late", experiment={}, started_at=time.time() - 1)
    journal.outcome, journal.ended_at = Outcome.ERROR, time.time()
    tracer.chaoskit_run_finished(journal)
    spans = file_spans(Path(journal.artifacts["trace"]))
    assert [s["name"] for s in spans] == ["chaoskit late"]
    assert spans[0]["traceId"] == journal.trace_id
