"""A repo that installs chaoskit but has no chaos test must not notice the plugin; and the plugin
lives alongside Locust's auto-registered pytest plugin (``--host``/``-H``, fixtures ``session``...)."""

from __future__ import annotations

import re

import pytest

TESTS = """
import pytest

@pytest.fixture
def session():  # a name Locust's plugin also uses: the repo's own wins, as usual
    return "mine"

def test_one(session):
    assert session == "mine"

@pytest.mark.parametrize("n", [1, 2])
def test_two(n):
    assert n
"""


def _body(lines: list[str]) -> list[str]:
    """The output without the header (which lists installed plugins) and the timing."""
    start = next(i for i, line in enumerate(lines) if "collected " in line)
    return [re.sub(r" in [0-9.]+s", "", line) for line in lines[start:]]


def test_a_repo_without_chaos_tests_sees_no_difference(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=TESTS)
    with_plugin = pytester.runpytest_subprocess("-v", "-rA", timeout=300)
    without = pytester.runpytest_subprocess("-v", "-rA", "-p", "no:chaoskit", timeout=300)
    with_plugin.assert_outcomes(passed=3)
    assert _body(with_plugin.stdout.lines) == _body(without.stdout.lines)
    assert "chaos" not in "\n".join(_body(with_plugin.stdout.lines)).lower()
    assert not (pytester.path / "chaoskit-test-runs").exists()


def test_alongside_locusts_pytest_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_chaos="""
from chaoskit import Experiment, Step

def test_marker(chaos):
    exp = Experiment(title="t", method=[Step(fault="testkit.marker", with_={"path": "f.flag"}, duration=0.1)])
    assert chaos.run(exp).passed
"""
    )
    result = pytester.runpytest_subprocess("--chaos", "--host", "http://127.0.0.1:9", "-H", "x", timeout=300)
    result.assert_outcomes(passed=1)
    header = next(line for line in result.stdout.lines if line.startswith("plugins:"))
    assert "locust-" in header and "chaoskit-" in header and "xdist-" in header, header

    fixtures = pytester.runpytest_subprocess("--fixtures", "--chaos", timeout=300).stdout.str()
    ours = fixtures[fixtures.index("fixtures defined from chaoskit.pytest_plugin") :].split("\n---")[0]
    assert re.findall(r"^(\w+) -- ", ours, re.M) == ["chaos_config", "chaos"], ours
    locust = fixtures[fixtures.index("fixtures defined from pytest_locust.plugin") :].split("\n---")[0]
    assert {"session", "fastsession"} <= set(re.findall(r"^(\w+) -- ", locust, re.M)), locust
    # Fixtures of other chaoskit plugins (entry point group chaoskit.pytest_fixtures) come with --chaos.
    assert "fixtures defined from chaoskit_testkit.pytest_fixtures" in fixtures
