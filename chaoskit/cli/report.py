"""``chaoskit report``: rebuild a run's HTML report (or a Markdown summary) from its journal."""

from __future__ import annotations

from pathlib import Path

import click

from chaoskit.cli.console import err


@click.command(
    epilog="\b\nExamples:\n  chaoskit report chaoskit-runs/20260101-120000-my-run-abc123/journal.json\n"
    "  chaoskit report chaoskit-runs/20260101-120000-my-run-abc123 --markdown >> summary.md"
)
@click.argument("journal_path", metavar="JOURNAL", type=click.Path(path_type=Path, exists=True))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Where to write the HTML.")
@click.option("--markdown", is_flag=True, help="Print a Markdown summary on stdout instead.")
def report(journal_path: Path, output: Path | None, markdown: bool) -> None:
    """Write the HTML report of a run (a journal file, or its run folder); works offline. A run that did not
    finish (killed) has only its partial journal, journal.partial.jsonl: it is read from there."""
    from pydantic import ValidationError

    from chaoskit.journalfile import journal_file, read_journal
    from chaoskit.report import run_markdown, write_html_report

    path = journal_file(journal_path)
    try:
        journal = read_journal(path)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise click.UsageError(
            f"{path} is not a chaoskit journal (give a run's journal.json or its run folder): "
            f"{where}: {first['msg']}{more}"
        ) from None
    except (OSError, ValueError) as exc:
        raise click.UsageError(
            f"{path} is not a chaoskit journal (give a run's journal.json or its run folder): "
            f"{str(exc).splitlines()[0]}"
        ) from None
    journal.artifacts.setdefault("journal", str(path))
    if markdown:
        print(run_markdown(journal))
        return
    written = write_html_report(journal, output or path.with_name("report.html"))
    err.print(f"wrote {written}")
