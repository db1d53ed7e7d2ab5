"""Random malformed experiment documents only ever produce a validation error (exit 5), never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaoskit.errors import ValidationFailed
from chaoskit.loader import parse_text, validate_document
from tests.conftest import run_cli

KEYS = [
    "title",
    "method",
    "steady_state",
    "probes",
    "probe",
    "fault",
    "action",
    "pause",
    "with",
    "expect",
    "duration",
    "recovery",
    "within",
    "interval",
    "safety",
    "abort_when",
    "max_duration",
    "configuration",
    "secrets",
    "env",
    "default",
    "status",
    "latency_ms",
    "min",
    "max",
    "jsonpath",
    "strategy",
    "load",
    "rollbacks",
    "tracing",
    "http",
    "testkit.marker",
    "path",
    "url",
    "${x}",
    "${title}",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from([*KEYS, "1s", "-1s", "10ms", "$.a", "(", "http://x"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=6),
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_random_documents_validate_or_fail_cleanly(doc: Any) -> None:
    try:
        validate_document(doc)
    except ValidationFailed as exc:
        assert exc.problems and all(p.message for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        data, lines = parse_text(text)
        validate_document(data, lines)
    except ValidationFailed as exc:
        assert exc.problems


def test_cli_exit_5_on_malformed_files(tmp_path: Path) -> None:
    samples = [
        "title: [",
        "- 1\n- 2\n",
        "title: x\nmethod: 5\n",
        "title: x\nmethod:\n  - {fault: 3}\n",
        yaml.safe_dump({"title": 1, "method": [{"pause": "-1s"}], "safety": {"max_duration": None}}),
        "\x00\x01binary",
    ]
    for i, text in enumerate(samples):
        path = tmp_path / f"bad{i}.yaml"
        path.write_text(text)
        result = run_cli("validate", str(path))
        assert result.returncode == 5, (text, result.stderr)
        assert "Traceback" not in result.stderr
        result = run_cli("run", str(path))
        assert result.returncode == 5 and "Traceback" not in result.stderr
