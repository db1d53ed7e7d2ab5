"""Preflight of the locust load driver: the locustfile is imported in a child (never in the orchestrator) and
must define the User classes the experiment names; each problem is one `load` problem, exit code 6."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chaoskit.errors import PreflightFailed
from chaoskit.loader import validate_document
from chaoskit.preflight import preflight
from tests.load.loadkit import LOCUSTFILE, write_locustfile


@pytest.mark.parametrize(
    ("text", "user_classes", "message"),
    [
        ("import nonexistent_module_xyz\n", [], "does not import: ModuleNotFoundError: No module named"),
        ("def broken(:\n", [], "does not import: SyntaxError"),
        ("x = 1\n", [], "defines no User class"),
        (LOCUSTFILE, ["Web", "Mobile"], "user_classes ['Mobile'] are not in"),
    ],
    ids=["import-error", "syntax-error", "no-user", "unknown-user-class"],
)
def test_the_locustfile_is_imported_in_a_child(
    tmp_path: Path, text: str, user_classes: list[str], message: str
) -> None:
    locustfile = write_locustfile(tmp_path, text)
    doc = {
        "title": "load",
        "method": [{"pause": 0}],
        "load": {
            "driver": "locust",
            "host": "http://127.0.0.1:9",
            "locustfile": str(locustfile),
            "user_classes": user_classes,
        },
    }
    loaded = validate_document(doc, source=str(tmp_path / "exp.yaml"))
    with pytest.raises(PreflightFailed) as info:
        preflight(loaded)
    assert info.value.exit_code == 6
    [problem] = info.value.problems
    assert problem.path == "load" and message in problem.message, problem.message
    assert "locust" not in sys.modules  # the orchestrator never imported it
