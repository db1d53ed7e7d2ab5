"""Chaos Toolkit files on ``chaoskit run``/``validate`` (CTK's flags, CTK's verdict), and ``chaoskit import``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chaoskit.cli.console import err, escape
from chaoskit.record import record

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal, Outcome

CTK_DRY = ("probes", "actions", "activities", "pause")
CTK_ROLLBACK = ("default", "always", "never", "deviated")
CTK_HYPOTHESIS = (
    "default",
    "before-method-only",
    "after-method-only",
    "during-method-only",
    "continuously",
    "continously",
)


@record
class CtkFlags:
    """CTK's ``chaos run`` flags, as given on ``chaoskit run``."""

    variables: tuple[str, ...] = ()
    var_files: tuple[Path, ...] = ()
    rollback_strategy: str | None = None
    hypothesis_strategy: str | None = None
    hypothesis_frequency: float | None = None
    fail_fast: bool = False
    journal_path: Path | None = None
    dry: str | None = None
    no_verify_tls: bool = False
    several: bool = False
    """Several CTK files in one run: each gets its own CTK journal (``journal-<file>.json``)."""

    def only_for_ctk(self) -> list[str]:
        """The CTK-only options that were given (an error on a native experiment)."""
        given = {
            "--var-file": bool(self.var_files),
            "--rollback-strategy": self.rollback_strategy is not None,
            "--hypothesis-strategy": self.hypothesis_strategy is not None,
            "--hypothesis-frequency": self.hypothesis_frequency is not None,
            "--journal-path": self.journal_path is not None,
            "--dry": self.dry is not None,
            "--no-verify-tls": self.no_verify_tls,
        }
        return [name for name, on in given.items() if on]


def ctk_options(func: Any) -> Any:
    """The CTK flags as click options (for ``chaoskit run``)."""
    options = [
        click.option(
            "--var-file",
            "var_files",
            multiple=True,
            type=click.Path(exists=True, path_type=Path),
            help="CTK files: configuration/secrets (JSON/YAML) or a .env file.",
        ),
        click.option(
            "--rollback-strategy",
            type=click.Choice(CTK_ROLLBACK),
            default=None,
            help="CTK files: when rollbacks are played (default: not after failed/interrupted).",
        ),
        click.option(
            "--hypothesis-strategy",
            type=click.Choice(CTK_HYPOTHESIS),
            default=None,
            help="CTK files: when the steady-state hypothesis is checked.",
        ),
        click.option(
            "--hypothesis-frequency",
            type=float,
            default=None,
            help="CTK files: seconds between continuous hypothesis checks (default 1).",
        ),
        click.option(
            "--journal-path",
            type=click.Path(path_type=Path),
            default=None,
            help="CTK files: write a CTK-shaped journal here (default ./journal.json).",
        ),
        click.option(
            "--dry",
            type=click.Choice(CTK_DRY),
            default=None,
            help="CTK files: do not execute these activities (as `chaos run --dry`).",
        ),
        click.option(
            "--no-verify-tls",
            is_flag=True,
            help="CTK files: accepted for `chaos run` compatibility (it applies to experiments loaded "
            "over HTTPS; chaoskit reads local files only).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def is_ctk_file(path: Path) -> bool:
    """A file shaped like a CTK experiment (unreadable files are left to the native loader to report)."""
    from chaoskit.ctk.detect import is_ctk
    from chaoskit.errors import ValidationFailed
    from chaoskit.loader import read_document

    try:
        data, _ = read_document(path)
    except ValidationFailed:
        return False
    return is_ctk(data)


def ctk_vars(flags: CtkFlags) -> dict[str, Any]:
    from chaoskit.ctk.values import parse_vars

    try:
        return parse_vars(flags.variables)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--var") from None


def validate_ctk(path: Path, flags: CtkFlags, quiet: bool = False) -> None:
    """Raises ValidationFailed listing every problem; tells what is accepted but not acted on."""
    from chaoskit.ctk.command import validate_ctk_file

    loaded = validate_ctk_file(path, ctk_vars(flags), flags.var_files)
    _notes(path, loaded.notes, quiet)


def _notes(path: Path, notes: list[str], quiet: bool) -> None:
    for note in [] if quiet else notes:
        err.print(f"[yellow]note:[/] {escape(str(path))} (Chaos Toolkit): {escape(note)}", highlight=False)


def run_ctk(
    path: Path, flags: CtkFlags, out_dir: Path, dry_run: bool, ledger_dir: Path | None, quiet: bool
) -> tuple[Outcome, Journal, str, int]:
    """Run a CTK file with CTK's rules. Returns chaoskit's outcome and journal, the reason and the exit code
    (CTK's: 0 or 1; 130 when interrupted)."""
    from chaoskit.ctk.command import run_ctk_file
    from chaoskit.ctk.engine import CtkOptions

    options = CtkOptions(
        rollback_strategy=flags.rollback_strategy,
        hypothesis_strategy=flags.hypothesis_strategy,
        frequency=flags.hypothesis_frequency if flags.hypothesis_frequency is not None else 1.0,
        fail_fast=flags.fail_fast,
        dry="activities" if dry_run and flags.dry is None else flags.dry,
        ledger_dir=ledger_dir,
        progress=None if quiet else lambda line: err.print(f"  {escape(line)}", highlight=False),
    )
    journal_path = flags.journal_path or Path("journal.json")
    if flags.several:
        journal_path = journal_path.with_name(f"{journal_path.stem}-{path.stem}{journal_path.suffix or '.json'}")
    ctk, native = run_ctk_file(path, options, ctk_vars(flags), flags.var_files, journal_path, out_dir)
    _notes(path, ctk.loaded.notes, quiet)
    if not quiet:
        word = "deviated" if ctk.deviated else ctk.status
        err.print(
            f"[bold]{escape(str(path))}[/] (Chaos Toolkit): status [bold]{escape(ctk.status)}[/], "
            f"deviated {str(ctk.deviated).lower()} -> {escape(word)}, exit {ctk.exit_code}; "
            f"chaoskit outcome {native.outcome.value if native.outcome else '?'}",
            highlight=False,
        )
        err.print(f"  CTK journal: {journal_path}", highlight=False)
        for name in ("journal", "trace", "report"):
            if name in native.artifacts:
                err.print(f"  {name}: {native.artifacts[name]}", highlight=False)
    assert native.outcome is not None
    return native.outcome, native, ctk.reason, ctk.exit_code


@click.command("import", epilog="\b\nExamples:\n  chaoskit import ctk-experiment.json -o experiment.yaml")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), default=None, help="Write here (default: stdout).")
def import_ctk(source: Path, out: Path | None) -> None:
    """Write the native chaoskit experiment equivalent to a Chaos Toolkit experiment (YAML), with a comment on
    every construct whose meaning changes, and validate it. Exit 5 when either file is invalid."""
    import os
    import sys

    from pydantic import ValidationError

    from chaoskit.ctk.importer import import_experiment
    from chaoskit.ctk.model import CtkExperiment
    from chaoskit.errors import ValidationFailed
    from chaoskit.loader import parse_text, problems_from, read_document, validate_document

    data, lines = read_document(source)
    try:
        experiment = CtkExperiment.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(problems_from(exc, (), lines, str(source)), str(source)) from None
    text = import_experiment(experiment, source.name) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
    where = str(out) if out else "the imported experiment"
    doc, new_lines = parse_text(text, where)
    unset = sorted(
        value["env"]
        for key in ("configuration", "secrets")
        for value in ((doc.get(key) or {}).values() if isinstance(doc, dict) else [])
        if isinstance(value, dict)
        and isinstance(value.get("env"), str)
        and "default" not in value
        and value["env"] not in os.environ
    )
    if unset:
        err.print(f"[yellow]note:[/] validating with these variables unset: {escape(', '.join(unset))}")
    validate_document(doc, new_lines, where)
    err.print(f"[green]✓[/] {escape(where)} is a valid chaoskit experiment (read its `# ctk:` comments)")
