"""The plugin end to end with pytester: a sample repo with a real HTTP service, YAML and Python chaos tests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaoskit.pytest_plugin import SKIP_REASON
from tests.pytest_plugin.sample import CONFTEST, OK_YAML, write_sample

TIMEOUT = 300  # a shared, noisy 2-core machine: generous


def test_without_chaos_the_chaos_tests_are_skipped(pytester: pytest.Pytester) -> None:
    write_sample(pytester)
    result = pytester.runpytest_subprocess("-rs", timeout=TIMEOUT)
    # ok/down YAML items + 6 Python chaos tests skipped; only the unit test runs. The invalid file is an error
    # (what can be checked without running: it parses, its top-level keys are known), not a silent skip.
    result.assert_outcomes(passed=1, skipped=8, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of chaos experiment invalid.chaos.yaml*", f"SKIPPED * {SKIP_REASON}"])
    assert ":2: unknwon_key: unknown key" in result.stdout.str()
    assert not (pytester.path / "chaoskit-test-runs").exists()


def test_a_chaos_var_no_experiment_file_declares_is_refused_before_anything_runs(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".chaos.yaml", ok=OK_YAML)
    result = pytester.runpytest_subprocess("--chaos", "--chaos-var", "nope=1", timeout=TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    assert "--chaos-var nope: no collected experiment declares it in its configuration" in result.stderr.str()
    assert not (pytester.path / "chaoskit-test-runs").exists()  # refused before anything ran


def test_with_chaos_tests_pass_and_fail_for_the_right_reasons(pytester: pytest.Pytester) -> None:
    write_sample(pytester)
    result = pytester.runpytest_subprocess("--chaos", "--junitxml=junit.xml", "-p", "no:randomly", timeout=TIMEOUT)
    out = result.stdout.str()
    result.assert_outcomes(passed=6, failed=4)
    failed = {line.split(" ")[1] for line in result.stdout.lines if line.startswith("FAILED ")}
    assert failed == {
        "down.chaos.yaml::down",
        "invalid.chaos.yaml::invalid",
        "test_code.py::test_outage_is_reported",
        "test_code.py::test_invalid_in_code",
    }, out

    # The YAML outage: a readable report (outcome, probe and phase, fault window, TTR), no traceback.
    section = _section(out, "chaos experiment down.chaos.yaml")
    for expected in (
        "chaos experiment 'survives an outage': DEVIATED (exit 1)",
        "x api healthy in method:",
        "status 503 not in [200]",
        "fault windows:",
        "outage (testkit.marker): injected +",
        "time to recovery: ",
        "journal: ",
        "report: ",
    ):
        assert expected in section, f"{expected!r} not in:\n{section}"
    assert "Traceback" not in section and "def runtest" not in section

    # The invalid file: every problem listed with its path and line.
    section = _section(out, "chaos experiment invalid.chaos.yaml")
    assert "invalid.chaos.yaml is invalid (2 problems)" in section, section
    assert ":2: unknwon_key: unknown key" in section, section
    assert ":6: method[0].duration: invalid duration 'soon'" in section, section

    # The same readable report for a Python test through result.assert_passed().
    section = _section(out, "test_outage_is_reported")
    assert "chaos experiment 'flag down.flag': DEVIATED" in section and "Traceback" not in section, section
    section = _section(out, "test_invalid_in_code")
    assert "method[0].with.path" in section and "method[0].with.colour: unknown key" in section, section

    # Faults were reverted: no flag file is left behind.
    assert not list(pytester.path.glob("*.flag"))

    # JUnit XML: outcome and journal path as properties; the journals are there.
    cases = _junit_properties(pytester.path / "junit.xml")
    assert cases["ok"]["chaoskit.outcome"] == ["passed"]
    assert cases["down"]["chaoskit.outcome"] == ["deviated"]
    assert cases["invalid"]["chaoskit.outcome"] == ["invalid"]
    assert cases["test_model_objects"]["chaoskit.outcome"] == ["passed", "passed"]
    assert "chaoskit.outcome" not in cases["test_unit"]
    for name in ("ok", "down", "test_survives_unrelated_fault", "test_outage_is_reported"):
        (path,) = cases[name]["chaoskit.journal"]
        journal = json.loads(Path(path).read_text())
        assert journal["outcome"] == cases[name]["chaoskit.outcome"][0]
        assert Path(path).parent.parent == pytester.path / "chaoskit-test-runs"
    assert Path(cases["down"]["chaoskit.journal"][0]).parent.name == "down.chaos.yaml--down"
    # Other files of the run (the trace, when tracing is installed) sit next to the journal, named in JUnit.
    ok_dir = Path(cases["ok"]["chaoskit.journal"][0]).parent
    artifacts = json.loads((ok_dir / "journal.json").read_text())["artifacts"]
    for name, artifact in artifacts.items():
        assert Path(artifact).parent == ok_dir, artifact
        if name != "journal":
            assert cases["ok"][f"chaoskit.{name}"] == [artifact]
    assert float(cases["ok"]["chaoskit.ttr_s"][0]) >= 0
    # Every chaos run writes report.html next to its journal, linked from JUnit and from the failure text.
    for name in ("ok", "down", "test_survives_unrelated_fault", "test_outage_is_reported"):
        (report,) = cases[name]["chaoskit.report"]
        assert Path(report) == Path(cases[name]["chaoskit.journal"][0]).with_name("report.html")
        assert "<html" in Path(report).read_text(encoding="utf-8")[:500].lower()
    assert f"report: {cases['down']['chaoskit.report'][0]}" in _section(out, "chaos experiment down.chaos.yaml")
    # The README lists every property a chaos test case gets.
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for props in cases.values():
        for prop in props:
            assert f"`{prop}`" in readme, f"README does not list the JUnit property {prop}"


def test_xdist_workers_have_their_own_state(pytester: pytest.Pytester, isolated_state: Path) -> None:
    write_sample(pytester)
    # A fault whose revert fails leaves its ledger behind: it must be in the worker's own state folder.
    pytester.makefile(
        ".chaos.yaml",
        leaky="title: leaky\nmethod:\n  - fault: testkit.marker\n    with: {path: leak.flag, fail_revert: true}\n",
    )
    result = pytester.runpytest_subprocess("--chaos", "-n", "2", "-v", timeout=TIMEOUT)
    result.assert_outcomes(passed=6, failed=5)
    out = result.stdout.str()
    assert "[gw0]" in out and "[gw1]" in out, out
    leaked = list(isolated_state.glob("xdist-gw*/ledger/*.json"))
    assert len(leaked) == 1, sorted(p.relative_to(isolated_state) for p in isolated_state.rglob("*"))
    assert json.loads(leaked[0].read_text())["title"] == "leaky"
    assert not (isolated_state / "ledger").exists()
    assert "REVERT FAILED: marker: revert failed on purpose" in _section(out, "chaos experiment leaky.chaos.yaml")
    runs = {p.name for p in (pytester.path / "chaoskit-test-runs").iterdir()}
    assert {"ok.chaos.yaml--ok", "down.chaos.yaml--down", "test_code.py--test_model_objects"} <= runs


def test_ini_options(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nchaos = true\nchaos_files = *.exp.yaml\nchaos_runs_dir = out/runs\n")
    pytester.makefile(".exp.yaml", quick="title: quick\nmethod:\n  - fault: testkit.marker\n    with: {path: q.flag}\n")
    pytester.makefile(".chaos.yaml", ignored="not: collected")
    result = pytester.runpytest_subprocess("-v", timeout=TIMEOUT)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*quick.exp.yaml::quick PASSED*"])
    assert (pytester.path / "out/runs/quick.exp.yaml--quick/journal.json").is_file()

    pytester.makeini("[pytest]\nchaos_files =\n")
    result = pytester.runpytest_subprocess(timeout=TIMEOUT)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_chaos_var_reaches_the_experiments_that_declare_it(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".chaos.yaml",
        uses="title: uses\nconfiguration: {flag: a.flag}\n"
        "method:\n  - fault: testkit.marker\n    with: {path: '${flag}'}\n",
        other="title: other\nmethod:\n  - fault: testkit.marker\n    with: {path: b.flag}\n",
    )
    result = pytester.runpytest_subprocess("--chaos", "--chaos-var", "flag=c.flag", "--chaos-runs-dir", "r")
    result.assert_outcomes(passed=2)
    journal = json.loads((pytester.path / "r/uses.chaos.yaml--uses/journal.json").read_text())
    assert journal["faults"][0]["revert_info"]["path"].endswith("c.flag")

    bad = pytester.runpytest_subprocess("--chaos-var", "nameless", timeout=TIMEOUT)
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--chaos-var 'nameless': expected name=value*"])


def _section(out: str, name: str) -> str:
    """The failure section pytest prints for test ``name``."""
    start = out.index(f"_ {name} _")
    end = out.find("\n___", start + 1)
    short = out.find("short test summary", start)
    ends = [e for e in (end, short) if e != -1]
    return out[start : min(ends)] if ends else out[start:]


def _junit_properties(path: Path) -> dict[str, dict[str, list[str]]]:
    cases: dict[str, dict[str, list[str]]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props: dict[str, list[str]] = {}
        for prop in case.iter("property"):
            props.setdefault(prop.get("name", ""), []).append(prop.get("value", ""))
        cases[case.get("name", "")] = props
    return cases
