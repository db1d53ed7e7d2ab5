"""The timeline of a whole game day for its ``index.html``: one row per experiment (its span, coloured by its
outcome, with its fault windows in red), a row for the gates (how long the day waited at each, and the answer)
and a row for the notes, on one time axis. Inline SVG, no script; every mark has a ``<title>`` (hover) and the
same facts are in the page's tables and lists."""

from __future__ import annotations

import time
from collections.abc import Sequence

from chaoskit.htmlescape import escape
from chaoskit.model.journal import Journal
from chaoskit.model.outcome import Outcome
from chaoskit.record import field, record
from chaoskit.report.html import COLORS

WIDTH, LABEL, ROW = 930, 190, 22


@record
class Span:
    name: str
    start: float
    end: float
    outcome: Outcome
    faults: list[tuple[str, float, float]] = field(default_factory=list)


@record
class GateMark:
    question: str
    asked_at: float
    answered_at: float
    go: bool
    by: str


def span_of(name: str, journal: Journal) -> Span:
    end = journal.ended_at or time.time()
    faults = [(f.name, f.injected_at, f.reverted_at or end) for f in journal.faults if f.injected_at is not None]
    return Span(name, journal.started_at, end, journal.outcome or Outcome.ERROR, faults)


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def render_day(
    spans: Sequence[Span], gates: Sequence[GateMark] = (), notes: Sequence[tuple[float, str, str]] = ()
) -> str:
    """The day's timeline as an ``<h2>`` and an inline SVG ("" when nothing ran)."""
    if not spans:
        return ""
    times = [t for s in spans for t in (s.start, s.end)] + [t for g in gates for t in (g.asked_at, g.answered_at)]
    times += [at for at, _, _ in notes]
    t0, t1 = min(times), max(times)
    scale = (WIDTH - LABEL - 10) / max(t1 - t0, 1.0)

    def x(t: float) -> float:
        return round(LABEL + (t - t0) * scale, 1)

    rows = len(spans) + (1 if gates else 0) + (1 if notes else 0)
    height = rows * ROW + 24
    out = [f'<svg id="day" width="{WIDTH}" height="{height}" role="img" aria-label="the day on one time axis">']
    for i, s in enumerate(spans):
        y = i * ROW
        out.append(f'<text x="0" y="{y + 15}">{escape(s.name[:30])}</text>')
        tip = f"{s.name}: {s.outcome.value}, {_clock(s.start)}-{_clock(s.end)}"
        out.append(
            f'<rect class="run" x="{x(s.start)}" y="{y + 4}" width="{max(x(s.end) - x(s.start), 2)}" height="14" '
            f'fill="{COLORS[s.outcome]}" fill-opacity=".35"><title>{escape(tip)}</title></rect>'
        )
        for name, start, end in s.faults:
            tip = f"fault {name}: {_clock(start)}-{_clock(end)}"
            out.append(
                f'<rect class="fault" x="{x(start)}" y="{y + 7}" width="{max(x(end) - x(start), 2)}" height="8" '
                f'fill="#dc2626"><title>{escape(tip)}</title></rect>'
            )
    y = len(spans) * ROW
    if gates:
        out.append(f'<text x="0" y="{y + 15}">gates</text>')
        for g in gates:
            answer = "continue" if g.go else "stop the day"
            tip = f"gate {g.question}: {answer} ({g.by}, {_clock(g.answered_at)}; asked {_clock(g.asked_at)})"
            color = "#15803d" if g.go else "#b91c1c"
            out.append(
                f'<g class="gate"><title>{escape(tip)}</title><rect x="{x(g.asked_at)}" y="{y + 9}" '
                f'width="{max(x(g.answered_at) - x(g.asked_at), 1)}" height="4" fill="#d97706"/>'
                f'<path d="M{x(g.answered_at)} {y + 3}l6 8-6 8-6-8z" fill="{color}"/></g>'
            )
        y += ROW
    if notes:
        out.append(f'<text x="0" y="{y + 15}">notes</text>')
        for at, by, text in notes:
            tip = f"{_clock(at)} {by}: {text}"
            out.append(f'<circle class="note" cx="{x(at)}" cy="{y + 11}" r="5" fill="#2563eb">')
            out.append(f"<title>{escape(tip)}</title></circle>")
        y += ROW
    out.append(f'<text x="{LABEL}" y="{y + 16}">{_clock(t0)}</text>')
    out.append(f'<text x="{WIDTH - 10}" y="{y + 16}" text-anchor="end">{_clock(t1)}</text>')
    out.append("</svg>")
    legend = (
        "<p class=\"meta\">Each experiment's span (its outcome's colour), its fault windows (red), the gates "
        "(amber: how long the day waited; green: continue, red: stop the day) and the notes (blue); hover for "
        "details.</p>"
    )
    return f"<h2>The day</h2>{''.join(out)}{legend}"


__all__ = ["GateMark", "Span", "render_day", "span_of"]
