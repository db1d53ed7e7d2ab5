"""``chaoskit rollback``: revert what a killed run left behind, from its ledger."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from chaoskit.cli.console import err, escape


@click.command(
    epilog="\b\nExamples:\n  chaoskit rollback                      # every pending ledger\n"
    "  chaoskit rollback --ledger ~/.local/state/chaoskit/ledger/RUN.json"
)
@click.option(
    "--ledger",
    "ledgers",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A ledger file (default: every pending ledger in the state folder).",
)
@click.option("--ledger-dir", type=click.Path(path_type=Path), default=None, help="Folder of ledgers.")
@click.option("--force", is_flag=True, help="Also roll back ledgers of runs that still look alive.")
def rollback(ledgers: tuple[Path, ...], ledger_dir: Path | None, force: bool) -> None:
    """Revert faults that a killed run left behind (from its revert ledger). Safe to run twice."""
    from chaoskit.rollback import rollback as do_rollback

    report = do_rollback(list(ledgers) if ledgers else None, ledger_dir, force=force)
    if not report.ledgers:
        err.print("nothing to roll back: no pending ledger")
    for line in report.reverted:
        err.print(f"[green]↺ reverted[/] {escape(line)}", highlight=False)
    for line in report.skipped:
        err.print(f"[yellow]skipped[/] {escape(line)} (use --force)", highlight=False)
    for line in report.failed:
        err.print(f"[red]✗ revert failed[/] {escape(line)}", highlight=False)
    for path in report.removed:
        err.print(f"removed {escape(path)} (the temp file of an interrupted ledger write)", highlight=False)
    sys.exit(0 if report.ok else 4)
