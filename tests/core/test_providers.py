from __future__ import annotations

from pathlib import Path

from chaoskit import Outcome, RunOptions, run_experiment, validate_document

HELPER = """\
calls = []

def record(value, *, twice=False):
    calls.append(value)
    return value * 2 if twice else value

def boom():
    raise ValueError("nope")
"""


def run(tmp_path: Path, doc: dict[str, object]):  # type: ignore[no-untyped-def]
    loaded = validate_document(doc, source=str(tmp_path / "exp.yaml"))
    return run_experiment(loaded, RunOptions(out_dir=tmp_path / "runs"))


def test_python_action_and_probe_from_a_module_next_to_the_experiment(tmp_path: Path) -> None:
    (tmp_path / "ck_helper_mod.py").write_text(HELPER)
    journal = run(
        tmp_path,
        {
            "title": "py",
            "steady_state": {
                "probes": [
                    {
                        "probe": "python",
                        "with": {"function": "ck_helper_mod:record", "args": [21], "kwargs": {"twice": True}},
                        "expect": {"equals": 42},
                    }
                ]
            },
            "method": [{"action": "python", "with": {"function": "ck_helper_mod:record", "args": ["x"]}}],
        },
    )
    assert journal.outcome == Outcome.PASSED, journal.reason
    assert journal.activities[0].result == "x"
    assert journal.observations[0].value == 42


def test_python_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "ck_helper_mod2.py").write_text(HELPER)
    journal = run(
        tmp_path, {"title": "py", "method": [{"action": "python", "with": {"function": "ck_helper_mod2:nah"}}]}
    )
    assert journal.outcome == Outcome.ERROR and "has no attribute 'nah'" in journal.reason
    journal = run(
        tmp_path, {"title": "py", "method": [{"action": "python", "with": {"function": "ck_helper_mod2:boom"}}]}
    )
    assert journal.outcome == Outcome.ERROR and "ValueError: nope" in journal.reason


def test_process_probe_value_is_the_exit_code_and_timeouts_kill(tmp_path: Path) -> None:
    journal = run(
        tmp_path,
        {
            "title": "proc",
            "steady_state": {
                "probes": [
                    {"probe": "process", "with": {"command": "sh -c 'echo hi; exit 3'"}, "expect": {"equals": 3}}
                ]
            },
            "method": [{"action": "process", "with": {"command": ["sleep", "10"], "timeout": "300ms"}}],
        },
    )
    assert journal.observations[0].details["stdout"] == "hi\n"
    assert journal.outcome == Outcome.ERROR
    assert "did not exit within 0.3s; killed" in journal.reason


def test_process_ok_exit_codes(tmp_path: Path) -> None:
    journal = run(
        tmp_path,
        {
            "title": "p",
            "method": [{"action": "process", "with": {"command": ["sh", "-c", "exit 2"], "ok_exit_codes": [0, 2]}}],
        },
    )
    assert journal.outcome == Outcome.PASSED
