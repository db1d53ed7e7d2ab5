"""Markdown summaries for CI job summaries (``--summary-md``, ``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from chaoskit.model.journal import Journal, Outcome
from chaoskit.record import record
from chaoskit.report.facts import Facts, Window, collect, fmt_ms, fmt_rate, fmt_rps, fmt_ttr, tidy
from chaoskit.report.score import score

ICONS = {
    Outcome.PASSED: "✅",
    Outcome.DRY_RUN: "🔎",
    Outcome.DEVIATED: "⚠️",
    Outcome.BASELINE_NOT_MET: "⏸️",
    Outcome.ABORTED: "🛑",
    Outcome.ERROR: "❌",
    Outcome.INVALID: "❌",
    Outcome.INTERRUPTED: "⏹️",
}


@record(frozen=True)
class Row:
    """One experiment of a game day, as the summary shows it."""

    name: str
    outcome: Outcome
    score: int | None
    ttr: str
    baseline: Window | None
    fault: Window | None
    finding: str
    report: str | None = None
    """The run's report.html, when one was written."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def fault_window(facts: Facts) -> Window | None:
    """The worst fault window under load (highest error rate, then p95)."""
    loaded = [w for w in facts.windows if w.kind == "fault" and w.requests]
    return max(loaded, key=lambda w: (w.error_rate or 0.0, w.p95_ms or 0.0), default=None)


def finding(journal: Journal, facts: Facts | None = None) -> str:
    """One line: what the run found out."""
    facts = facts or collect(journal)
    s = score(facts)
    if journal.outcome == Outcome.PASSED:
        lost = ", ".join(f"-{d.points} {d.what}" for d in s.deductions)
        return "held" + (f" ({lost})" if lost else "")
    missed = next((o for o in journal.observations if o.ok is False and o.phase not in ("baseline", "safety")), None)
    if journal.outcome == Outcome.DEVIATED and missed is not None:
        first = f"{missed.probe} ({missed.phase}): {missed.reason}"
    else:
        first = (journal.reason or "").split("; ")[0]
    first = tidy(first)
    return first if len(first) <= 160 else first[:157] + "..."


def row(name: str, journal: Journal | None, outcome: Outcome, reason: str = "") -> Row:
    if journal is None:
        return Row(name, outcome, None, "-", None, None, reason)
    facts = collect(journal)
    base = facts.before
    return Row(
        name,
        outcome,
        score(facts).value,
        fmt_ttr(journal),
        base,
        fault_window(facts),
        finding(journal, facts),
        journal.artifacts.get("report"),
    )


def link(target: str, base: Path | None) -> str:
    """``target`` relative to the folder ``base`` (so a summary and its reports can move together), else
    absolute."""
    path = Path(target).resolve()
    return Path(os.path.relpath(path, base.resolve())).as_posix() if base is not None else str(path)


def _sli(w: Window | None) -> str:
    if w is None or not w.requests:
        return "-"
    return f"{fmt_rps(w.rps)} rps, {fmt_rate(w.error_rate)} err, p95 {fmt_ms(w.p95_ms)}"


def table(rows: Sequence[Row], base: Path | None = None) -> str:
    """The summary table; each experiment links to its report (relative to the folder ``base``)."""
    lines = [
        "| experiment | outcome | score | TTR | before the fault | during the fault | finding |",
        "|---|---|---:|---:|---|---|---|",
    ]
    for r in rows:
        name = _cell(r.name)
        if r.report:
            name = f"[{name.replace('[', '(').replace(']', ')')}](<{link(r.report, base)}>)"
        lines.append(
            f"| {name} | {ICONS[r.outcome]} {r.outcome.value} | {'-' if r.score is None else r.score} | "
            f"{r.ttr} | {_sli(r.baseline)} | {_sli(r.fault)} | {_cell(r.finding)} |"
        )
    return "\n".join(lines) + "\n"


def run_markdown(journal: Journal, base: Path | None = None) -> str:
    """One run: a heading, the numbers, and why the score is what it is."""
    facts = collect(journal)
    s = score(facts)
    outcome = journal.outcome or Outcome.ERROR
    out = [f"### {ICONS[outcome]} {journal.title}: {outcome.value}", "", _cell(tidy(journal.reason)), ""]
    out.append(table([row(journal.title, journal, outcome)], base))
    if s.deductions:
        out.append("Score: " + "; ".join(f"-{d.points} {d.what} ({d.why})" for d in s.deductions) + "\n")
    if journal.artifacts.get("report"):
        out.append(f"Report: [report.html](<{link(journal.artifacts['report'], base)}>)\n")
    return "\n".join(out)


EXIT_CODE_RULE = (
    "The game day's exit code is the most severe of its experiments' codes, in this order: 130 interrupted, "
    "4 error, 5 invalid, 3 aborted, 1 deviated, 2 baseline-not-met, 0 passed."
)


def gameday_markdown(
    rows: Sequence[Row], title: str = "chaoskit game day", base: Path | None = None, index: str | None = None
) -> str:
    """The game day's summary: counts, the table (reports linked relative to ``base``), the exit-code rule."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    tail = f"\n{EXIT_CODE_RULE}\n" + (f"\nAll reports: [{Path(index).name}](<{link(index, base)}>)\n" if index else "")
    return f"## {title}\n\n{len(rows)} experiment(s): {summary}\n\n{table(rows, base)}{tail}"
