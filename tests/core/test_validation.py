"""Validation messages: every problem at once, each with its exact path and file line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from chaoskit.errors import ValidationFailed
from chaoskit.loader import load_experiment, validate_document

GOOD = """\
title: ok
steady_state:
  probes:
    - probe: http
      with: {url: "http://127.0.0.1:1/health"}
      expect: {status: 200}
method:
  - fault: testkit.marker
    with: {path: m.txt}
    duration: 1s
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str) -> dict[str, tuple[int | None, str]]:
    with pytest.raises(ValidationFailed) as info:
        load_experiment(write(tmp_path, text))
    return {p.path: (p.line, p.message) for p in info.value.problems}


def test_good_file_loads_and_plugin_params_are_parsed(tmp_path: Path) -> None:
    loaded = load_experiment(write(tmp_path, GOOD))
    assert loaded.experiment.title == "ok"
    assert loaded.experiment.method[0].duration == 1.0
    assert type(loaded.params["method[0]"]).__name__ == "MarkerParams"
    assert type(loaded.params["steady_state.probes[0]"]).__name__ == "HttpParams"


def test_core_and_plugin_errors_are_reported_together_with_paths_and_lines(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        title: bad
        steady_state:
          probes:
            - probe: http
              with: {url: "ftp://nope", method: FETCH}
              expect: {status: 200}
        method:
          - fault: testkit.marker
            with: {path: m.txt, latncy_ms: 5}
            duration: soon
          - pause: 1s
            fault: testkit.marker
        recovery: {within: 10s, intervall: 1s}
        """,
    )
    assert found["recovery.intervall"] == (13, "unknown key; did you mean 'interval'?")
    assert found["method[0].duration"][0] == 10
    assert "invalid duration 'soon'" in found["method[0].duration"][1]
    assert found["method[0].with.latncy_ms"] == (9, "unknown key")  # testkit.marker has nothing like it
    assert found["method[1]"][0] == 11
    assert "exactly one of fault, action, probe or pause (found: fault, pause)" in found["method[1]"][1]
    assert found["method[1].with.path"] == (11, "required key is missing")
    assert found["steady_state.probes[0].with.url"][0] == 5
    assert "should match pattern" in found["steady_state.probes[0].with.url"][1]
    assert found["steady_state.probes[0].with.method"][0] == 5


def test_unknown_plugin_suggests_the_close_name(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("testkit.marker", "testkit.markr"))
    line, message = found["method[0].fault"]
    assert line == 8
    assert "unknown fault 'testkit.markr'; did you mean 'testkit.marker'?" in message


def test_unknown_top_level_key_suggests(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD + "rollback: []\n")
    assert found["rollback"] == (11, "unknown key; did you mean 'rollbacks'?")


def test_missing_title_and_method(tmp_path: Path) -> None:
    found = problems(tmp_path, "description: nothing\n")
    assert found["title"][1] == "required key is missing"
    assert found["method"][1] == "required key is missing"


def test_steady_state_probe_needs_expect_and_abort_when_needs_expect(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        GOOD.replace("      expect: {status: 200}\n", "")
        + "safety:\n  abort_when:\n    - probe: tcp\n      with: {port: 1}\n",
    )
    assert "every steady-state probe needs an 'expect'" in found["steady_state"][1]
    assert "abort_when[0] needs an 'expect'" in found["safety.abort_when"][1]


def test_duplicate_keys_and_syntax_errors(tmp_path: Path) -> None:
    found = problems(tmp_path, "title: a\ntitle: b\nmethod: []\n")
    assert found["title"] == (2, "duplicate key")
    found = problems(tmp_path, "title: [unclosed\n")
    assert found[""][0] is not None and "not valid YAML/JSON" in found[""][1]


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    assert "got a list" in problems(tmp_path, "- a\n- b\n")[""][1]
    assert "got an empty file" in problems(tmp_path, "")[""][1]
    with pytest.raises(ValidationFailed, match="no such file"):
        load_experiment(tmp_path / "missing.yaml")


def test_json_files_load(tmp_path: Path) -> None:
    path = tmp_path / "exp.json"
    path.write_text('{"title": "j", "method": [{"pause": "10ms"}]}')
    assert load_experiment(path).experiment.method[0].pause == pytest.approx(0.01)


def test_rollbacks_hold_actions_only_and_step_fields_fit_the_kind() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_document(
            {
                "title": "t",
                "method": [
                    {"pause": "1s", "duration": "2s"},
                    {"action": "process", "with": {"command": "true"}, "expect": {"equals": 1}},
                ],
                "rollbacks": [{"fault": "testkit.marker", "with": {"path": "x"}}],
            }
        )
    messages = {p.path: p.message for p in info.value.problems}
    assert "duration applies to fault steps" in messages["method[0]"]
    assert "expect applies to probe steps" in messages["method[1]"]
    assert "rollbacks[0] is a fault" in messages["rollbacks"]


def test_env_reference_shape_is_checked() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_document({"title": "t", "configuration": {"x": {"env": "X", "deflt": 1}}, "method": [{"pause": 1}]})
    assert "an env reference takes only 'env' and 'default'" in str(info.value)
