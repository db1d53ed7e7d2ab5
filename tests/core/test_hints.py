"""Input that would silently mean something else is invalid, with a hint: "did you mean" at every level,
Chaos Toolkit forms inside a native file, and http tolerances that must name what they check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaoskit.errors import ValidationFailed
from chaoskit.loader import validate_document
from chaoskit.model.journal import Outcome
from chaoskit.runner import RunOptions, run_experiment
from tests.conftest import HttpService, run_cli


def problems(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        validate_document(doc)
    return {p.path: p.message for p in info.value.problems}


def http_probe(url: str, expect: dict[str, Any]) -> dict[str, Any]:
    return {"name": "api", "probe": "http", "with": {"url": url, "timeout": "2s"}, "expect": expect}


@pytest.mark.parametrize(
    ("doc", "path", "suggestion"),
    [
        (
            {"steady_state": {"probes": [{"probe": "http", "with": {"url": "http://x"}, "expct": {}}]}},
            "steady_state.probes[0].expct",
            "expect",
        ),
        (
            {"steady_state": {"probes": [http_probe("http://x", {"latncy_ms": {"max": 3}})]}},
            "steady_state.probes[0].expect.latncy_ms",
            "latency_ms",
        ),
        (
            {"steady_state": {"probes": [http_probe("http://x", {"latency_ms": {"mx": 3}})]}},
            "steady_state.probes[0].expect.latency_ms.mx",
            "max",
        ),
        (
            {
                "steady_state": {
                    "probes": [{"probe": "http", "with": {"url": "http://x", "timout": 1}, "expect": {"status": 200}}]
                }
            },
            "steady_state.probes[0].with.timout",
            "timeout",
        ),
        (
            {"method": [{"fault": "toxiproxy.latency", "with": {"proxy": "db", "latency_ms": 1, "jiter_ms": 2}}]},
            "method[0].with.jiter_ms",
            "jitter_ms",
        ),
        ({"recovery": {"withn": "1s"}}, "recovery.withn", "within"),
        ({"safety": {"max_duraton": "1m"}}, "safety.max_duraton", "max_duration"),
        ({"toxiproxy": {"urll": "http://127.0.0.1:8474"}}, "toxiproxy.urll", "url"),
        ({"load": {"driver": "locust", "usrs": 3, "locustfile": "x.py"}}, "load.usrs", "users"),
        ({"tracing": {"enabeld": False}}, "tracing.enabeld", "enabled"),
    ],
)
def test_did_you_mean_at_every_level(doc: dict[str, Any], path: str, suggestion: str) -> None:
    found = problems({"title": "t", "method": [{"pause": 0}], **doc})
    assert found[path] == f"unknown key; did you mean {suggestion!r}?"


def test_bounds_and_choices_say_what_was_written() -> None:
    found = problems(
        {
            "title": "t",
            "steady_state": {"strategy": "always"},
            "method": [{"pause": 0}],
            "safety": {"max_duration": 0},
        }
    )
    assert found["steady_state.strategy"].endswith("(got 'always')")
    assert found["safety.max_duration"] == "Input should be greater than 0 (got 0.0)"


def test_chaos_toolkit_configuration_forms_point_to_the_chaoskit_form() -> None:
    found = problems(
        {
            "title": "t",
            "configuration": {"api": {"type": "env", "key": "API_URL", "default": "http://127.0.0.1:1"}},
            "secrets": {"auth": {"token": {"type": "env", "key": "API_TOKEN"}}},
            "method": [{"probe": "http", "with": {"url": "${api}/health"}, "expect": {"status": 200}}],
        }
    )
    assert found["configuration.api"] == (
        "this is Chaos Toolkit's form {type: env, key: ...}; in chaoskit write "
        "{env: API_URL, default: 'http://127.0.0.1:1'}"
    )
    assert "in chaoskit write {env: API_TOKEN}" in found["secrets.auth.token"]
    assert "secrets.auth" not in found  # no second, confusing problem about the same value


@pytest.mark.parametrize("expect", [{"regex": "up"}, {"equals": 200}, {"min": 200, "status": 200}])
def test_a_bare_check_on_an_http_probe_is_invalid_and_says_how_to_write_it(expect: dict[str, Any]) -> None:
    found = problems(
        {"title": "t", "method": [{"pause": 0}], "steady_state": {"probes": [http_probe("http://x", expect)]}}
    )
    message = found["steady_state.probes[0].expect"]
    assert "without a target" in message and "body: {regex:" in message and "status: 200" in message


def test_http_tolerances_check_body_headers_status_and_jsonpath(tmp_path: Path, http_service: HttpService) -> None:
    url = f"{http_service.url}/health"
    good = {
        "status": 200,
        "body": {"regex": '"status": "up"'},
        "headers": {"content-TYPE": {"regex": "json"}},
        "jsonpath": "$.status",
        "equals": "up",
        "latency_ms": {"max": 2000},
    }
    bad = {"body": {"regex": "down"}, "headers": {"X-Missing": {"equals": "x"}}}
    for expect, outcome in ((good, Outcome.PASSED), (bad, Outcome.BASELINE_NOT_MET)):
        doc = {"title": "t", "steady_state": {"probes": [http_probe(url, expect)]}, "method": [{"pause": 0}]}
        journal = run_experiment(validate_document(doc), RunOptions(out_dir=tmp_path / "runs"))
        assert journal.outcome == outcome, journal.reason
    assert 'body \'{"status": "up"}\' does not match /down/' in journal.reason
    assert "header X-Missing None != 'x'" in journal.reason
    assert "headers" not in journal.observations[0].details  # checked, not journaled


def test_cli_prints_the_hints(tmp_path: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "title: t\nconfiguration:\n  api: {type: env, key: API_URL}\nmethod:\n"
        "  - probe: http\n    with: {url: 'http://127.0.0.1:1/'}\n    expect: {regex: ok}\n    expct: {}\n"
    )
    result = run_cli("validate", str(exp))
    assert result.returncode == 5
    assert f"{exp}:3: configuration.api: this is Chaos Toolkit's form" in result.stderr
    assert f"{exp}:8: method[0].expct: unknown key; did you mean 'expect'?" in result.stderr
