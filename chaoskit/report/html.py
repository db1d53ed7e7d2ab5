"""One self-contained HTML page per run: works offline (inline CSS and SVG, no script, no CDN)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from chaoskit.htmlescape import escape
from chaoskit.model.journal import Journal, Outcome
from chaoskit.report.chart import timeline_svg
from chaoskit.report.facts import Facts, PhaseProbes, collect, fmt_ms, fmt_rate, fmt_rps, tidy, undone
from chaoskit.report.score import RULES, Score, score
from chaoskit.report.traces import traces_html

COLORS = {
    Outcome.PASSED: "#15803d",
    Outcome.DRY_RUN: "#0e7490",
    Outcome.DEVIATED: "#b45309",
    Outcome.BASELINE_NOT_MET: "#6b7280",
    Outcome.ABORTED: "#b91c1c",
    Outcome.ERROR: "#b91c1c",
    Outcome.INVALID: "#b91c1c",
    Outcome.INTERRUPTED: "#6b7280",
}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#111827;
 margin:0;background:#f3f4f6}
main{max-width:980px;margin:0 auto;padding:20px 24px 40px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:26px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:2px 10px;font-weight:600;letter-spacing:.02em}
.meta{color:#6b7280;font-size:12px}.reason{margin:8px 0 0}
.cards{display:flex;gap:12px;margin-top:14px;flex-wrap:wrap}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:22px}.card span{color:#6b7280;font-size:12px;display:block;max-width:260px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;
 border-bottom:1px solid #e5e7eb;vertical-align:top}th{color:#374151;background:#f9fafb}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.miss{color:#b91c1c}.ok{color:#15803d}
ul.files code{word-break:break-all}
ul.deductions{margin:6px 0;padding-left:20px}code{font-size:12px;background:#f3f4f6;padding:1px 4px;border-radius:3px}
svg .fault-window{fill:#dc2626;fill-opacity:.12;stroke:#dc2626;stroke-opacity:.35}
svg .fault-label{font-size:11px;fill:#b91c1c;font-weight:600}
svg .phase-line{stroke:#9ca3af;stroke-dasharray:3 3}svg .phase-label{font-size:10px;fill:#6b7280}
svg .frame{fill:none;stroke:#e5e7eb}svg .panel-title{font-size:11px;fill:#374151;font-weight:600}
svg .axis{font-size:10px;fill:#6b7280}svg .empty{font-size:12px;fill:#9ca3af}
svg .series{fill:none;stroke-width:1.8;stroke-linejoin:round}svg .legend-text{font-size:11px;font-weight:600}
svg .obs.ok{fill:#16a34a}svg .obs.miss{fill:#dc2626}svg .obs.none{fill:#9ca3af}
.legend{font-size:12px;color:#6b7280}.legend i{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px;
 vertical-align:middle}
"""


def _head(table_id: str, columns: str) -> str:
    """``<table>`` and its header row; ``columns`` like ``"name|count#"`` (``#``: a right-aligned number)."""
    cells = "".join(
        f"<th class=num>{escape(c[:-1])}</th>" if c.endswith("#") else f"<th>{escape(c)}</th>"
        for c in columns.split("|")
    )
    return f'<table id="{table_id}"><tr>{cells}</tr>'


def _score_html(s: Score) -> str:
    rules = "".join(f"<tr><td>{escape(what)}</td><td>{escape(points)}</td></tr>" for what, points in RULES)
    shown = (
        '<details id="score-rules"><summary>How the score is computed</summary><table>'
        f"<tr><th>what</th><th>points lost</th></tr>{rules}</table></details>"
    )
    if s.value is None:
        return f'<p id="score-explained">{escape(s.note)}</p>{shown}'
    note = f'<p class="meta" id="score-note">{escape(s.note)}</p>' if s.note else ""
    if not s.deductions:
        return (
            '<p id="score-explained">Nothing lost points: the steady state held and the load stayed healthy.</p>'
            + note
            + shown
        )
    items = "".join(f"<li><b>-{d.points}</b> {escape(d.what)}: {escape(d.why)}</li>" for d in s.deductions)
    return f'<ul id="score-explained" class="deductions">{items}</ul>{note}{shown}'


def _windows_html(facts: Facts) -> str:
    if not facts.windows:
        if facts.journal.load is None:
            return "<p>No load in this run: no load SLIs to show.</p>"
        return "<p>No windows (the run stopped before the method).</p>"
    rows = "".join(
        f"<tr><td>{escape(w.label)}</td><td class=num>{w.end - w.start:.1f}s</td><td class=num>{fmt_rps(w.rps)}</td>"
        f"<td class=num>{fmt_rate(w.error_rate)}</td><td class=num>{fmt_ms(w.p95_ms)}</td></tr>"
        for w in facts.windows
    )
    return _head("windows", "window|length#|rps#|error rate#|p95#") + f"{rows}</table>"


def _probes_html(facts: Facts) -> str:
    if not facts.probes:
        return "<p>No probe ran.</p>"
    rows = "".join(
        f"<tr><td>{escape(p.phase)}</td><td>{escape(p.probe)}</td>"
        f'<td class="num {"miss" if p.failed else "ok"}">{_met(p)}</td>'
        f"<td>{escape(p.first_failure)}</td></tr>"
        for p in facts.probes
    )
    return _head("probes", "phase|probe|met#|first miss") + f"{rows}</table>"


def _met(p: PhaseProbes) -> str:
    """Steady-state probes: met/total. Abort conditions (phase safety) are not tolerances: their own words."""
    if p.phase != "safety":
        return f"{p.total - p.failed}/{p.total}"
    return f"TRIGGERED ({p.failed} of {p.total} checks)" if p.failed else f"not triggered ({p.total} checks)"


def _faults_html(facts: Facts) -> str:
    j = facts.journal
    if not j.faults:
        return "<p>No fault was injected.</p>"
    rows = []
    for f in j.faults:
        at = f"+{f.injected_at - j.started_at:.1f}s" if f.injected_at else "not injected"
        held = f"{f.reverted_at - f.injected_at:.1f}s" if f.injected_at and f.reverted_at else "-"
        state = (
            f'<span class="miss">{escape(f.revert_error)}</span>' if f.revert_error else escape(undone(f, j.started_at))
        )
        if f.error:
            state = f'<span class="miss">{escape(f.error)}</span>; ' + state
        rows.append(
            f"<tr><td>{escape(f.name)}</td><td><code>{escape(json.dumps(f.params))}</code></td>"
            f"<td class=num>{at}</td><td class=num>{held}</td><td>{state}</td></tr>"
        )
    return _head("faults", "fault|parameters|injected#|held#|revert") + "".join(rows) + "</table>"


def notes_html(notes: Sequence[tuple[float, str, str]]) -> str:
    """The notes people took (time, who or where, text): a game day's, or one run's (``journal.notes``)."""
    if not notes:
        return ""
    items = "".join(
        f"<li>{time.strftime('%H:%M:%S', time.localtime(at))} <i>{escape(by)}</i>: {escape(text)}</li>"
        for at, by, text in notes
    )
    return f'<h2>Notes</h2><ul id="notes">{items}</ul>'


def render_html(journal: Journal) -> str:
    facts = collect(journal)
    s = score(facts)
    outcome = journal.outcome or Outcome.ERROR
    took = (journal.ended_at or journal.started_at) - journal.started_at
    ttr = f"{journal.ttr_s:.3g}s" if journal.ttr_s is not None else "-"
    load_ttr = (
        f"load healthy again after {facts.load_ttr_s:.3g}s"
        if facts.load_ttr_s is not None
        else (facts.load_recovery or "")
    )
    requests = sum(p.rps or 0 for p in facts.series)
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(journal.started_at))
    errors = "".join(
        f"<li><b>{escape(e.where)}</b>: {escape(e.type)}: {escape(e.message)}</li>" for e in journal.errors
    )
    artifacts = "".join(f"<li>{escape(k)}: <code>{escape(v)}</code></li>" for k, v in sorted(journal.artifacts.items()))
    description = str(journal.experiment.get("description", "")) if isinstance(journal.experiment, dict) else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(outcome.value)}: {escape(journal.title)} (chaoskit)</title><style>{CSS}</style></head>
<body><main>
<h1 id="title">{escape(journal.title)}</h1>
<div class="meta">run {escape(journal.run_id)} · {started} · {took:.1f}s · chaoskit {escape(journal.chaoskit_version)}
{" · dry run" if journal.dry_run else ""}{f" · trace {escape(journal.trace_id)}" if journal.trace_id else ""}</div>
<p class="reason"><span id="outcome" class="badge" style="background:{COLORS[outcome]}">{escape(outcome.value)}</span>
 <span id="reason">{escape(tidy(journal.reason))}</span></p>
{f'<p class="meta">{escape(description)}</p>' if description else ""}
<div class="cards">
<div class="card" id="score"><b>{"-" if s.value is None else s.value}</b><span>resilience score / 100</span></div>
<div class="card" id="ttr"><b>{ttr}</b><span>time to recovery (steady state)</span>
{f'<span class="sub">{escape(load_ttr)}</span>' if load_ttr else ""}</div>
<div class="card"><b>{len(journal.faults)}</b><span>fault(s) injected</span></div>
{f'<div class="card"><b>{int(requests)}</b><span>requests under load</span></div>' if facts.series else ""}
</div>
<h2>Why this score</h2>{_score_html(s)}
<h2>Timeline</h2>
{timeline_svg(facts)}
<div class="legend"><i style="background:rgba(220,38,38,.15);border:1px solid rgba(220,38,38,.4)"></i>fault window
<i style="background:#16a34a;border-radius:6px"></i>probe met<i style="background:#dc2626;border-radius:6px"></i>probe
missed · dashed lines: phases</div>
<h2>Load SLIs per window</h2>{_windows_html(facts)}
<h2>Probe results per phase</h2>
<p class="meta" id="flow">Order of a run: baseline → method (faults held) → revert the faults → recovery (the
steady state must hold again by itself) → rollbacks (cleanup, after recovery so they cannot hide a failure to
heal). Safety rows are abort conditions: "not triggered" is good.</p>
{_probes_html(facts)}
<h2>Faults</h2>{_faults_html(facts)}
{traces_html(journal.traces)}
{notes_html([(n.at, n.by, n.text) for n in journal.notes])}
{f'<h2>Errors</h2><ul id="errors">{errors}</ul>' if errors else ""}
<h2>Files</h2><ul class="files">{artifacts}</ul>
</main></body></html>
"""
