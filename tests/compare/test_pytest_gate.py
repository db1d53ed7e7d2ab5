"""``--chaos-baseline`` in a real pytest run (pytester, the sample repo with its real HTTP service): a run of
the same experiment compares cleanly and says so in JUnit; a baseline without that experiment fails the test as
"not comparable" (without a chained "During handling" text; a run that also deviated shows its report first)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from chaoskit.compare.summary import load_runs, save_baseline
from tests.pytest_plugin.sample import write_sample

TIMEOUT = 300


def _props(junit: str) -> dict[str, str]:
    root = ET.parse(junit).getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "ok")
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def test_chaos_baseline_gate(pytester: pytest.Pytester) -> None:
    write_sample(pytester)
    first = pytester.runpytest_subprocess("--chaos", "-k", "ok", "--chaos-runs-dir", "first", timeout=TIMEOUT)
    first.assert_outcomes(passed=1)
    runs = load_runs(pytester.path / "first")
    assert [r.experiment for r in runs] == ["survives an unrelated fault"]
    save_baseline(runs, pytester.path / "baselines")

    again = pytester.runpytest_subprocess(
        "--chaos", "-k", "ok", "--chaos-baseline", "baselines", "--junitxml=junit.xml", timeout=TIMEOUT
    )
    again.assert_outcomes(passed=1)
    props = _props(str(pytester.path / "junit.xml"))
    assert props["chaoskit.compare"] == "no regression" and "chaoskit.compare.ttr_s" in props

    other = [r.model_copy(update={"experiment": "something else"}) for r in runs]
    save_baseline(other, pytester.path / "other")
    gated = pytester.runpytest_subprocess("--chaos", "-k", "ok", "--chaos-baseline", "other", timeout=TIMEOUT)
    gated.assert_outcomes(failed=1)
    gated.stdout.fnmatch_lines(["*not comparable with the baseline other*no baseline run of this experiment*"])
    assert "During handling of the above exception" not in gated.stdout.str()

    down = pytester.runpytest_subprocess(
        "down.chaos.yaml", "--chaos", "--chaos-baseline", "other", "--chaos-runs-dir", "down", timeout=TIMEOUT
    )
    down.assert_outcomes(failed=1)
    down.stdout.fnmatch_lines(
        ["*'survives an outage': DEVIATED (exit 1)*", "*not comparable with the baseline other*no baseline run*"]
    )

    missing = pytester.runpytest_subprocess("--chaos", "-k", "ok", "--chaos-baseline", "nowhere", timeout=TIMEOUT)
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*--chaos-baseline nowhere: no such file or folder*chaoskit baseline save*"])
