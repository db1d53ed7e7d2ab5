"""Loading the plugin must cost (nearly) nothing: a budget of modules, not of milliseconds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What the plugin may add to a pytest process that runs no chaos test: the package and the entry point.
ALLOWED = {"chaoskit", "chaoskit.pytest_plugin"}
BUDGET = len(ALLOWED)
HEAVY = ("pydantic", "yaml", "rich", "click", "jsonpath_ng", "kubernetes", "locust", "gevent", "opentelemetry")


def _heavy(modules: set[str]) -> set[str]:
    engine = {m for m in modules if m.startswith("chaoskit.") and not m.startswith("chaoskit.pytest_plugin")}
    return {m for m in modules if m.split(".")[0] in HEAVY} | engine


def test_importing_the_plugin_imports_only_itself() -> None:
    code = (
        "import json, sys, pytest\n"
        "before = set(sys.modules)\n"
        "import chaoskit.pytest_plugin\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    added = set(json.loads(out.stdout))
    assert not _heavy(added), _heavy(added)
    assert added <= ALLOWED, added - ALLOWED
    assert len(added) <= BUDGET


CONFTEST = """
import json, sys

def pytest_unconfigure(config):
    with open(config.rootpath / ("modules-%s.json" % config.getoption("chaoskit_label", "x")), "w") as fh:
        json.dump(sorted(sys.modules), fh)

def pytest_addoption(parser):
    parser.addoption("--label", dest="chaoskit_label", default="x")
"""


def test_a_session_without_chaos_tests_loads_nothing_heavy(pytester: pytest.Pytester) -> None:
    """A whole pytest session (collection, run, reporting) with the plugin vs without it."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    for label, args in (("with", ()), ("without", ("-p", "no:chaoskit"))):
        result = pytester.runpytest_subprocess("--label", label, *args, timeout=300)
        result.assert_outcomes(passed=1)
    with_plugin = set(json.loads((pytester.path / "modules-with.json").read_text()))
    without = set(json.loads((pytester.path / "modules-without.json").read_text()))
    added = with_plugin - without
    assert not any(m.startswith("chaoskit") for m in without)
    assert not _heavy(added), _heavy(added)
    assert added <= ALLOWED, added - ALLOWED
