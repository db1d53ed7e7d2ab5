"""The report's numbers, score and markup, on journals with known numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from chaoskit.model.journal import Outcome
from chaoskit.model.load import LoadWindow
from chaoskit.report import render_html, run_markdown, write_html_report
from chaoskit.report.facts import collect
from chaoskit.report.markdown import gameday_markdown, row
from chaoskit.report.score import score

from .journals import T0, loaded_journal


def _svg(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])


def test_windows_weigh_each_second_by_its_overlap() -> None:
    facts = collect(loaded_journal(fault_error_rate=0.2, fault_p95_ms=1500))
    windows = {w.label: w for w in facts.windows}
    assert list(windows) == ["before the fault", "during slow payments", "after the revert"]
    base, fault, after = windows["before the fault"], windows["during slow payments"], windows["after the revert"]
    assert (base.start, base.end) == (T0 + 5, T0 + 10)  # the last 5 s before the fault
    assert base.rps == 20 and base.error_rate == 0 and base.p95_ms == 40
    assert (after.start, after.end, after.requests) == (T0 + 21, T0 + 30, 180)  # whole seconds after the revert
    # the fault holds 10.0-20.5 s: ten faulty seconds and half a healthy one
    assert fault.requests == 210
    assert fault.error_rate is not None and abs(fault.error_rate - 40 / 210) < 1e-9  # 4 failures/s for 10 s
    assert fault.p95_ms == 1500


def test_score_explains_every_lost_point() -> None:
    s = score(collect(loaded_journal()))
    lost = {d.what: d.points for d in s.deductions}
    assert lost == {
        "steady state missed during the fault": 34,  # 11 of 13 checks in the method
        "slow recovery": 1,  # 2 s of the 20 s allowed
        "errors under load": 25,  # 19 % >= 10 %: all 25
        "slower under load": 15,  # 1500 ms vs 40 ms: capped
    }
    assert s.value == 100 - 75
    assert all(d.why for d in s.deductions)


def test_a_clean_run_keeps_every_point() -> None:
    j = loaded_journal(Outcome.PASSED, fault_error_rate=0.0, fault_p95_ms=45.0, ttr_s=0.0, reason="steady state held")
    for obs in j.observations:
        obs.ok, obs.reason = True, ""
    s = score(collect(j))
    assert (s.value, s.deductions) == (100, [])
    assert "Nothing lost points" in render_html(j)


def test_no_score_without_a_baseline() -> None:
    j = loaded_journal(Outcome.BASELINE_NOT_MET, reason="steady state not met before any fault")
    j.faults.clear()
    s = score(collect(j))
    assert s.value is None and "nothing was injected" in s.note


def test_the_drivers_own_fault_windows_win_over_computed_ones() -> None:
    j = loaded_journal()
    assert j.load is not None
    given = [  # the locust driver's shape: a list, fault windows named "fault:<name>"
        {"name": "baseline", "started_at": T0 + 3, "ended_at": T0 + 8, "rps": 1.0, "requests": 5},
        {
            "name": "fault:slow payments",
            "started_at": T0 + 10,
            "ended_at": T0 + 20.5,
            "requests": 208,
            "failures": 40,
            "error_rate": 0.1923,
            "rps": 19.8,
            "p50_ms": 20.0,
            "p95_ms": 1510.0,
            "p99_ms": 1600.0,
        },
    ]
    j.load.windows = [LoadWindow.model_validate(w) for w in given]
    windows = collect(j).windows
    fault = next(w for w in windows if w.kind == "fault")
    assert (fault.rps, fault.error_rate, fault.p95_ms, fault.requests) == (19.8, 0.1923, 1510.0, 208)
    assert next(w for w in windows if w.kind == "before").rps == 20  # computed: the driver has no such window


def test_html_is_self_contained_and_marks_fault_windows(tmp_path: Path) -> None:
    j = loaded_journal()
    j.artifacts["journal"] = str(tmp_path / "journal.json")
    path = write_html_report(j)
    assert path == tmp_path / "report.html" and j.artifacts["report"] == str(path)
    html = path.read_text()
    for banned in ("<script", "http://", "https://", "<link"):
        assert banned not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    svg = _svg(html)
    ns = "{http://www.w3.org/2000/svg}"
    fault = svg.find(f".//{ns}rect[@id='fault-window-0']")
    assert fault is not None and float(fault.get("width", 0)) > 100
    assert {g.get("id") for g in svg.iter(f"{ns}g")} >= {"panel-rps", "panel-error-rate", "panel-p95", "probe-strip"}
    assert len(svg.findall(f".//{ns}polyline")) == 3
    misses = [c for c in svg.iter(f"{ns}circle") if "miss" in (c.get("class") or "")]
    assert len(misses) == 11
    assert 'id="score"><b>25</b>' in html and "deviated" in html


def test_html_escapes_what_it_shows() -> None:
    j = loaded_journal(reason="<img src=x onerror=alert(1)>")
    html = render_html(j)
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_markdown_summary_rows() -> None:
    j = loaded_journal()
    md = run_markdown(j)
    assert md.startswith("### ⚠️ Shop: slow payments: deviated")
    assert "| Shop: slow payments | ⚠️ deviated | 25 | 2s |" in md
    assert "20.0 rps, 0.0% err, p95 40 ms" in md  # before the fault
    assert "checkout (method): latency_ms 1523 > max 800 |" in md  # the finding
    text = gameday_markdown([row("a", j, Outcome.DEVIATED), row("b", None, Outcome.INVALID, "2 problems")])
    assert "2 experiment(s): 1 deviated, 1 invalid" in text
    assert "| b | ❌ invalid | - | - | - | - | 2 problems |" in text


def test_long_reasons_are_tidied_for_people_but_kept_whole_in_the_journal() -> None:
    reason = "; ".join(
        f"load errors deviated during the method: value 0.07017543859649{i} > max 0.02" for i in range(5)
    )
    j = loaded_journal(reason=reason)
    html = render_html(j)
    assert "value 0.0702 &gt; max 0.02" in html and "... and 2 more" in html
    assert "0.07017543859649" not in html
    assert j.reason == reason


def test_the_report_shows_the_score_rules_and_the_outcome_band() -> None:
    from chaoskit.report.score import RULES

    html = render_html(loaded_journal())
    assert 'id="score-rules"' in html and "How the score is computed" in html
    for what, _ in RULES:
        assert what in html
    # a deviated run that lost few points is still capped below every passed run
    j = loaded_journal(fault_error_rate=0.0, fault_p95_ms=45.0, ttr_s=0.0)
    s = score(collect(j))
    assert j.outcome == Outcome.DEVIATED and s.value == 59 and "at most 59" in s.note
    assert "at most 59" in render_html(j)
