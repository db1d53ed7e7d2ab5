"""Reports of a run: a self-contained HTML page (``report.html`` next to the journal) and Markdown summaries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaoskit.model.journal import Journal
from chaoskit.redaction import scrub_text
from chaoskit.report.html import render_html

if TYPE_CHECKING:
    from chaoskit.report.markdown import gameday_markdown, row, run_markdown


def write_html_report(journal: Journal, path: Path | None = None) -> Path:
    """Write the HTML report (default: ``report.html`` next to the journal); records it in ``artifacts``."""
    if path is None:
        where = journal.artifacts.get("journal")
        if not where:
            raise ValueError("the journal has no path in artifacts['journal']; give the report's path")
        path = Path(where).with_name("report.html")
    journal.artifacts["report"] = str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scrub_text(render_html(journal)), encoding="utf-8")
    return path


def report_run(journal: Journal) -> Path | None:
    """After ``run``: write ``report.html`` next to the journal and rewrite the journal with its path."""
    where = journal.artifacts.get("journal")
    if not where:
        return None
    from chaoskit.ledger import dump_json

    path = write_html_report(journal)
    dump_json(Path(where), journal)  # the model: pydantic writes it (a dict would go through json's pure-Python indent)
    return path


def __getattr__(name: str) -> Any:
    """The Markdown summaries are imported when asked for: a run writes only the HTML page."""
    if name in ("gameday_markdown", "row", "run_markdown"):
        from chaoskit.report import markdown

        return getattr(markdown, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["gameday_markdown", "render_html", "report_run", "row", "run_markdown", "write_html_report"]
