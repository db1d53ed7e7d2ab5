"""The report's section on the application's own spans (``tracing.receive``): server spans per service before the
faults, during each and after the last revert, and the trace-derived time to recovery."""

from __future__ import annotations

from chaoskit.htmlescape import escape
from chaoskit.model.journal import TracesRecord


def traces_html(traces: TracesRecord | None) -> str:
    """The section (heading included), or nothing when the run received no spans."""
    if traces is None:
        return ""
    where = " and ".join(f"{p} {a}" for p, a in (("OTLP/HTTP", traces.http), ("OTLP/gRPC", traces.grpc)) if a)
    head = (
        f"<p>{traces.received} span(s) received on {escape(where)}"
        + (f", {traces.refused} request(s) refused (last: {escape(traces.last_refusal)})" if traces.refused else "")
        + ". "
    )
    if traces.ttr_s is not None:
        head += f"Healthy again after <b>{traces.ttr_s:.3g}s</b> ({escape(traces.ttr_rule)}).</p>"
    else:
        head += f"No trace-derived recovery ({escape(traces.ttr_rule)}).</p>"
    rows = "".join(
        f"<tr><td>{escape(r.service)}</td><td>{escape(r.window)}</td><td class=num>{r.spans}</td>"
        f'<td class="num{" miss" if r.errors else ""}">{r.errors} ({r.errors / r.spans:.1%})</td>'
        f"<td class=num>{'-' if r.p95_ms is None else f'{r.p95_ms:.0f}'}</td></tr>"
        for r in traces.windows
    )
    table = (
        '<table id="trace-windows"><tr><th>service</th><th>window</th><th class=num>server spans</th>'
        f"<th class=num>errors</th><th class=num>p95 ms</th></tr>{rows}</table>"
        if rows
        else "<p>No server span in any whole second of the windows.</p>"
    )
    return f'<h2>Application spans</h2><div id="traces">{head}{table}</div>'
