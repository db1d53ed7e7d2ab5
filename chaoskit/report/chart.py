"""The timeline as inline SVG, drawn here (no JavaScript, no CDN): one panel per load SLI (rps, error rate, p95)
on a shared time axis, fault windows shaded across all panels, phase boundaries marked, the latency each probe
measured (one line per probe, when probes report ``latency_ms``), and a strip with every probe observation
(green met, red missed), each probe's full name above its row."""

from __future__ import annotations

import math
from collections.abc import Callable

from chaoskit.htmlescape import escape
from chaoskit.report.facts import Facts, Point

WIDTH, LEFT, RIGHT, LANE = 920, 84, 20, 13
PANEL_H, GAP, STRIP_ROW = 96, 26, 26
PROBE_COLORS = ("#0891b2", "#ea580c", "#4d7c0f", "#be185d", "#4338ca", "#a16207")

Panel = tuple[str, str, Callable[[Point], float | None], Callable[[float], str], str]
PANELS: list[Panel] = [
    ("panel-rps", "requests / s", lambda p: p.rps, lambda v: f"{v:.0f}", "#2563eb"),
    ("panel-error-rate", "error rate", lambda p: p.error_rate, lambda v: f"{v * 100:.0f}%", "#dc2626"),
    ("panel-p95", "p95 latency", lambda p: p.p95_ms, lambda v: f"{v:.0f} ms", "#7c3aed"),
]


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= value (an axis top)."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next(float(m * magnitude) for m in (1, 2, 2.5, 5, 10) if m * magnitude >= value)


def _label_lanes(labels: list[tuple[float, str]]) -> list[int]:
    """A row for each fault label so that labels of overlapping faults do not overwrite each other."""
    ends: list[float] = []  # per lane: where its last label ends (x)
    lanes = []
    for x0, text in labels:
        lane = next((i for i, end in enumerate(ends) if end < x0), len(ends))
        if lane == len(ends):
            ends.append(0.0)
        ends[lane] = x0 + 8 + 6.2 * len(text)
        lanes.append(lane)
    return lanes


def _span(facts: Facts) -> tuple[float, float]:
    """From the first thing worth seeing (load, baseline, a probe) to the end: a load generator's start-up
    before its first request is left out."""
    j = facts.journal
    firsts = [p.started_at for p in j.phases if p.name != "warmup"] + [o.started_at for o in j.observations]
    if facts.series:
        firsts.append(facts.series[0].t)
    t0 = max(facts.start, min(firsts)) if firsts else facts.start
    return t0, max(facts.end, t0 + 1)


def probe_latencies(facts: Facts) -> dict[str, list[tuple[float, float]]]:
    """(time, latency_ms) of every observation whose probe reported ``latency_ms``, per probe."""
    out: dict[str, list[tuple[float, float]]] = {}
    for obs in facts.journal.observations:
        value = obs.details.get("latency_ms")
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.setdefault(obs.probe, []).append((obs.started_at, float(value)))
    return out


def _probe_panel(latencies: dict[str, list[tuple[float, float]]], y0: float, x: Callable[[float], float]) -> str:
    plot_w = WIDTH - LEFT - RIGHT
    y_max = nice_max(max((v for points in latencies.values() for _, v in points), default=0.0))
    parts = [
        '<g id="panel-probe-latency" class="panel">',
        f'<rect class="frame" x="{LEFT}" y="{y0}" width="{plot_w}" height="{PANEL_H}"/>',
        f'<text class="panel-title" x="{LEFT + 6}" y="{y0 + 13}">probe latency</text>',
        f'<text class="axis" x="{LEFT - 6}" y="{y0 + 10}" text-anchor="end">{y_max:.0f} ms</text>',
        f'<text class="axis" x="{LEFT - 6}" y="{y0 + PANEL_H}" text-anchor="end">0 ms</text>',
    ]
    legend_x = LEFT + 100.0
    for i, (name, points) in enumerate(sorted(latencies.items())):
        color = PROBE_COLORS[i % len(PROBE_COLORS)]
        pts = " ".join(f"{x(t):.1f},{y0 + PANEL_H - v / y_max * (PANEL_H - 4):.1f}" for t, v in points)
        parts.append(
            f'<polyline class="series probe-latency" points="{pts}" stroke="{color}"><title>{escape(name)}</title>'
            "</polyline>"
        )
        parts.append(f'<text class="legend-text" x="{legend_x:.1f}" y="{y0 + 13}" fill="{color}">{escape(name)}</text>')
        legend_x += 12 + 6.2 * len(name)
    parts.append("</g>")
    return "".join(parts)


def timeline_svg(facts: Facts) -> str:
    t0, t1 = _span(facts)
    plot_w = WIDTH - LEFT - RIGHT
    probes = sorted({o.probe for o in facts.journal.observations})
    strip_h = STRIP_ROW * max(1, len(probes)) + 8
    panels = PANELS if facts.series else PANELS[:1]  # without load data: one panel that says so
    latencies = probe_latencies(facts)
    n_panels = len(panels) + (1 if latencies else 0)

    def x(t: float) -> float:
        return LEFT + (min(max(t, t0), t1) - t0) / (t1 - t0) * plot_w

    lanes = _label_lanes([(x(f.start), f.name) for f in facts.faults])
    top = 12 + LANE * max(1, max(lanes, default=0) + 1)  # room for the fault labels
    height = top + n_panels * (PANEL_H + GAP) + strip_h + 40

    parts = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="load SLIs over time with fault windows">'
    ]
    bottom = height - 40
    for i, f in enumerate(facts.faults):
        x0, x1 = x(f.start), x(f.end)
        parts.append(
            f'<rect class="fault-window" id="fault-window-{i}" x="{x0:.1f}" y="{top - 4}" '
            f'width="{max(x1 - x0, 2):.1f}" height="{bottom - top + 4}"><title>{escape(f.name)}: '
            f"{f.start - t0:.1f}s to {f.end - t0:.1f}s</title></rect>"
            f'<text class="fault-label" x="{x0 + 4:.1f}" y="{top - 7 - LANE * lanes[i]}">{escape(f.name)}</text>'
        )
    shown = [p for p in facts.journal.phases if p.name in ("baseline", "method", "recovery")]
    for k, phase in enumerate(shown):
        px = x(phase.started_at)
        parts.append(
            f'<line class="phase-line" x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom + 2 + 11 * (k % 2)}"/>'
            f'<text class="phase-label" x="{px + 3:.1f}" y="{bottom + 11 + 11 * (k % 2)}">{escape(phase.name)}</text>'
        )
    for n, (pid, title, get, fmt, color) in enumerate(panels):
        y0 = top + n * (PANEL_H + GAP)
        values = [(p.t, v) for p in facts.series if (v := get(p)) is not None]
        y_max = nice_max(max((v for _, v in values), default=0.0))
        parts.append(f'<g id="{pid}" class="panel">')
        parts.append(f'<rect class="frame" x="{LEFT}" y="{y0}" width="{plot_w}" height="{PANEL_H}"/>')
        parts.append(f'<text class="panel-title" x="{LEFT + 6}" y="{y0 + 13}">{escape(title)}</text>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y0 + 10}" text-anchor="end">{escape(fmt(y_max))}</text>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y0 + PANEL_H}" text-anchor="end">{escape(fmt(0))}</text>')
        if values:
            pts = " ".join(f"{x(t + 0.5):.1f},{y0 + PANEL_H - v / y_max * (PANEL_H - 4):.1f}" for t, v in values)
            parts.append(f'<polyline class="series" points="{pts}" stroke="{color}"/>')
        else:
            parts.append(
                f'<text class="empty" x="{LEFT + plot_w / 2}" y="{y0 + PANEL_H / 2}" text-anchor="middle">'
                "no load data in this run</text>"
            )
        parts.append("</g>")
    if latencies:
        parts.append(_probe_panel(latencies, top + len(panels) * (PANEL_H + GAP), x))
    y_strip = top + n_panels * (PANEL_H + GAP)
    parts.append(
        f'<g id="probe-strip"><rect class="frame" x="{LEFT}" y="{y_strip}" width="{plot_w}" height="{strip_h}"/>'
    )
    for row, name in enumerate(probes):
        top_of_row = y_strip + 4 + STRIP_ROW * row
        cy = top_of_row + 18
        parts.append(f'<text class="axis probe-name" x="{LEFT + 4}" y="{top_of_row + 9:.1f}">{escape(name)}</text>')
        for obs in facts.journal.observations:
            if obs.probe == name:
                cls = "ok" if obs.ok else ("miss" if obs.ok is False else "none")
                parts.append(
                    f'<circle class="obs {cls}" cx="{x(obs.started_at):.1f}" cy="{cy:.1f}" r="3.5">'
                    f"<title>{escape(name)} ({escape(obs.phase)}): {escape(obs.reason or 'met')}</title>"
                    "</circle>"
                )
    parts.append("</g>")
    span = t1 - t0
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1e9) if span / s <= 10)
    tick = 0.0
    while tick <= span:
        parts.append(
            f'<text class="axis" x="{x(t0 + tick):.1f}" y="{height - 4}" text-anchor="middle">{tick:g}s</text>'
        )
        tick += step
    parts.append("</svg>")
    return "".join(parts)
