"""Comparisons and histories as JSON, Markdown and self-contained HTML (inline SVG, no script, works offline)."""

from __future__ import annotations

import time
from typing import Any

from chaoskit.compare.rules import Comparison, Finding
from chaoskit.compare.summary import RunSummary
from chaoskit.htmlescape import escape
from chaoskit.report.chart import nice_max

W, H, PAD = 880, 110, 40


def fmt(value: float | None, metric: str = "") -> str:
    if value is None:
        return "-"
    if metric.endswith("error_rate"):
        return f"{value * 100:.2f}%"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def baseline_text(f: Finding) -> str:
    spread = f" ± {fmt(f.spread, f.metric)}" if f.spread else ""
    return f"{fmt(f.baseline, f.metric)}{spread} (n={f.runs})"


def verdict_text(f: Finding) -> str:
    return f"REGRESSION ({f.confidence})" if f.regression else "ok"


def as_json(comparisons: list[Comparison], not_comparable: list[str]) -> dict[str, Any]:
    return {
        "regressed": any(c.regressed for c in comparisons),
        "not_comparable": not_comparable + [f"{c.experiment}: {c.problem}" for c in comparisons if c.problem],
        "experiments": [
            {
                "experiment": c.experiment,
                "baseline_runs": [r.run_id for r in c.baseline],
                "current_run": c.current.run_id,
                "outcome": {"baseline": sorted({r.outcome for r in c.baseline}), "current": c.current.outcome},
                "outcome_regressed": c.outcome_regressed,
                "regressed": c.regressed,
                "findings": [
                    {
                        "metric": f.metric,
                        "baseline_mean": f.baseline,
                        "baseline_stdev": f.spread,
                        "baseline_runs": f.runs,
                        "current": f.current,
                        "delta": f.delta,
                        "regression": f.regression,
                        "confidence": f.confidence,
                        "why": f.why,
                    }
                    for f in c.findings
                ],
            }
            for c in comparisons
        ],
    }


def markdown(comparisons: list[Comparison], not_comparable: list[str]) -> str:
    lines = ["## chaoskit compare", ""]
    for c in comparisons:
        mark = "❌ regression" if c.regressed else "✅ no regression"
        outcome = f"{'/'.join(sorted({r.outcome for r in c.baseline}))} → {c.current.outcome}"
        lines += [f"### {c.experiment}: {mark}", "", f"Outcome: {outcome}", ""]
        if c.problem:
            lines += [f"Not comparable: {c.problem}", ""]
        lines += ["| metric | baseline | current | Δ | verdict |", "|---|---|---|---|---|"]
        for f in c.findings:
            if f.regression or f.metric in ("ttr_s", "load_ttr_s", "score") or f.metric.endswith(".p95_ms"):
                lines.append(
                    f"| {f.metric} | {baseline_text(f)} | {fmt(f.current, f.metric)} | {fmt(f.delta, f.metric)} "
                    f"| {verdict_text(f)} |"
                )
        lines.append("")
    for problem in not_comparable:
        lines.append(f"- not comparable: {problem}")
    return "\n".join(lines).rstrip() + "\n"


def _polyline(points: list[tuple[float, float]], x0: float, x1: float, top: float, cls: str) -> str:
    if not points:
        return ""
    span = max(x1 - x0, 1e-9)
    coords = " ".join(
        f"{PAD + (t - x0) / span * (W - 2 * PAD):.1f},{H - 18 - v / top * (H - 30):.1f}" for t, v in points
    )
    return f'<polyline class="{cls}" points="{coords}"/>'


def overlay_svg(base: RunSummary, current: RunSummary) -> str:
    """Baseline (grey) and current (colour) load timelines on one time axis: 0 is the first inject."""
    panels = []
    ts = [p[0] for p in base.timeline + current.timeline]
    if not ts:
        return '<p class="empty">No load timeline in these runs.</p>'
    x0, x1 = min(ts), max(ts)
    for i, (title, fmt_axis) in enumerate((("requests / s", "{:.0f}"), ("error rate", "{:.0%}"), ("p95 ms", "{:.0f}"))):
        series = {
            name: [(p[0], p[i + 1]) for p in run.timeline if p[i + 1] is not None]
            for name, run in (("baseline", base), ("current", current))
        }
        values = [v for pts in series.values() for _, v in pts if v is not None]
        top = nice_max(max(values, default=0.0))
        zero = PAD + (0 - x0) / max(x1 - x0, 1e-9) * (W - 2 * PAD)
        panels.append(
            f'<svg class="overlay" width="{W}" height="{H}" role="img" aria-label="{escape(title)}">'
            f'<text x="4" y="14" class="t">{escape(title)} (top {fmt_axis.format(top)})</text>'
            f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="16" y2="{H - 18}" class="inject"/>'
            + _polyline([(t, float(v)) for t, v in series["baseline"] if v is not None], x0, x1, top, "base")
            + _polyline([(t, float(v)) for t, v in series["current"] if v is not None], x0, x1, top, "cur")
            + f'<text x="{PAD}" y="{H - 4}" class="t">{x0:+.0f}s</text>'
            f'<text x="{W - PAD - 30}" y="{H - 4}" class="t">{x1:+.0f}s</text></svg>'
        )
    return "".join(panels)


CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f3f4f6;color:#111827}
main{max-width:960px;margin:0 auto;padding:20px 24px;background:#fff}table{border-collapse:collapse;width:100%;
font-size:13px}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e5e7eb}.bad{color:#b91c1c;
font-weight:600}.ok{color:#15803d}svg .t{font-size:11px;fill:#374151}svg polyline{fill:none;stroke-width:1.8}
svg .base{stroke:#9ca3af;stroke-dasharray:4 3}svg .cur{stroke:#2563eb}svg .inject{stroke:#dc2626;
stroke-dasharray:2 2}.legend{font-size:12px;color:#6b7280}"""


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>\n"
    )


def compare_html(comparisons: list[Comparison], not_comparable: list[str]) -> str:
    parts = []
    for c in comparisons:
        rows = "".join(
            f'<tr class="{"bad" if f.regression else ""}"><td>{escape(f.metric)}</td>'
            f"<td>{escape(baseline_text(f))}</td>"
            f"<td>{escape(fmt(f.current, f.metric))}</td><td>{escape(fmt(f.delta, f.metric))}</td>"
            f"<td>{escape(verdict_text(f))}</td><td>{escape(f.why)}</td></tr>"
            for f in c.findings
        )
        state = '<span class="bad">regression</span>' if c.regressed else '<span class="ok">no regression</span>'
        outcome = f"{'/'.join(sorted({r.outcome for r in c.baseline}))} → {c.current.outcome}"
        parts.append(
            f'<section class="experiment"><h2>{escape(c.experiment)}: {state}</h2><p>outcome {escape(outcome)}'
            f"{f' · not comparable: {escape(c.problem)}' if c.problem else ''}</p>"
            f'<p class="legend">grey dashed: baseline run {escape(c.baseline[-1].run_id)}; blue: current run '
            f"{escape(c.current.run_id)}; red line: first inject</p>{overlay_svg(c.baseline[-1], c.current)}"
            "<table><tr><th>metric</th><th>baseline</th><th>current</th><th>Δ</th><th>verdict</th><th>why</th></tr>"
            f"{rows}</table></section>"
        )
    parts += [f'<p class="bad">not comparable: {escape(p)}</p>' for p in not_comparable]
    return _page("chaoskit compare", "".join(parts))


def trend_metrics(run: RunSummary) -> dict[str, float | None]:
    """TTRs, and the worst fault window's error rate and p95 (the numbers a history is read for)."""
    faults = {m: v for m, v in run.metrics.items() if m.startswith("fault ") and v is not None}
    return {
        "ttr_s": run.metrics.get("ttr_s"),
        "load_ttr_s": run.metrics.get("load_ttr_s"),
        "fault error_rate": max((v for m, v in faults.items() if m.endswith(".error_rate")), default=None),
        "fault p95_ms": max((v for m, v in faults.items() if m.endswith(".p95_ms")), default=None),
    }


def _spark(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    top = nice_max(max(known))
    step = 120 / max(len(values) - 1, 1)
    pts = " ".join(f"{i * step:.1f},{28 - (v / top) * 24:.1f}" for i, v in enumerate(values) if v is not None)
    return f'<svg width="124" height="30" class="spark"><polyline class="cur" points="{pts}"/></svg>'


def history_html(grouped: dict[str, list[RunSummary]]) -> str:
    parts = []
    for experiment, runs in grouped.items():
        trends = [trend_metrics(r) for r in runs]
        names = list(trends[0]) if trends else []
        head = "".join(f"<th>{escape(n)}</th>" for n in names)
        rows = "".join(
            f"<tr><td>{time.strftime('%Y-%m-%d %H:%M', time.localtime(r.started_at))}</td><td>{escape(r.outcome)}</td>"
            + "".join(f"<td>{escape(fmt(t[n], n))}</td>" for n in names)
            + "</tr>"
            for r, t in zip(runs, trends, strict=True)
        )
        sparks = "".join(f"<td>{_spark([t[n] for t in trends])}</td>" for n in names)
        parts.append(
            f'<section class="experiment"><h2>{escape(experiment)} ({len(runs)} runs)</h2><table>'
            f"<tr><th>run</th><th>outcome</th>{head}</tr>{rows}<tr><td>trend</td><td></td>{sparks}</tr></table></section>"
        )
    return _page("chaoskit history", "".join(parts))
