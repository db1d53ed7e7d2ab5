"""``index.html`` of a game day: the summary table with every run's report linked, written next to the runs.

A run of several experiments (``chaoskit run a.yaml b.yaml``, ``chaoskit run folder/``) and a game-day plan
write it into the output folder (``--out``), with the day's timeline (:mod:`chaoskit.report.day`); links are
relative, so the folder can be archived or served as it is. Like the
reports, the page is self-contained and works offline (inline CSS, no script).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from chaoskit.htmlescape import escape
from chaoskit.report.day import GateMark, Span, render_day
from chaoskit.report.facts import Window, fmt_ms, fmt_rate, fmt_rps
from chaoskit.report.html import COLORS, CSS, notes_html
from chaoskit.report.markdown import EXIT_CODE_RULE, Row, link


def _sli(w: Window | None) -> str:
    if w is None or not w.requests:
        return "-"
    return f"{fmt_rps(w.rps)} rps · {fmt_rate(w.error_rate)} err · p95 {fmt_ms(w.p95_ms)}"


def render_index(
    rows: Sequence[Row],
    base: Path,
    title: str = "chaoskit game day",
    exit_code: int | None = None,
    notes: Sequence[tuple[float, str, str]] = (),
    spans: Sequence[Span] = (),
    gates: Sequence[GateMark] = (),
) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    summary = ", ".join(f"{n} {escape(k)}" for k, n in counts.items())
    body = []
    for i, r in enumerate(rows):
        name = escape(r.name)
        if r.report:
            name = f'<a id="run-{i}" href="{escape(link(r.report, base))}">{name}</a>'
        body.append(
            f'<tr><td>{name}</td><td><span class="badge" style="background:{COLORS[r.outcome]}">'
            f"{escape(r.outcome.value)}</span></td><td class=num>{'-' if r.score is None else r.score}</td>"
            f"<td class=num>{escape(r.ttr)}</td><td>{_sli(r.baseline)}</td><td>{_sli(r.fault)}</td>"
            f"<td>{escape(r.finding)}</td></tr>"
        )
    code = "" if exit_code is None else f" · exit code <b id='exit-code'>{exit_code}</b>"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)} (chaoskit)</title><style>{CSS}</style></head>
<body><main>
<h1 id="title">{escape(title)}</h1>
<div class="meta">{stamp} · {len(rows)} experiment(s): {summary}{code}</div>
<table id="runs"><tr><th>experiment</th><th>outcome</th><th class=num>score</th><th class=num>TTR</th>
<th>before the fault</th><th>during the fault</th><th>finding</th></tr>
{"".join(body)}</table>
<p class="meta" id="exit-rule">{escape(EXIT_CODE_RULE)}</p>
{render_day(spans, gates, notes)}
{notes_html(notes)}
</main></body></html>
"""


def write_index(
    rows: Sequence[Row],
    folder: Path,
    exit_code: int | None = None,
    title: str = "chaoskit game day",
    notes: Sequence[tuple[float, str, str]] = (),
    spans: Sequence[Span] = (),
    gates: Sequence[GateMark] = (),
) -> Path:
    """Write ``folder/index.html`` for these runs (the day's timeline: ``spans``, ``gates`` and ``notes``) and
    return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    path.write_text(render_index(rows, folder, title, exit_code, notes, spans, gates), encoding="utf-8")
    return path
