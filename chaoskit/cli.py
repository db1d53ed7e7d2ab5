"""The ``chaoskit`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from chaoskit import __version__
from chaoskit.errors import ChaosKitError, ValidationFailed

if TYPE_CHECKING:  # imported where used: `chaoskit --help` stays fast (no pydantic, YAML or rich)
    from rich.console import Console

    from chaoskit.model.journal import Journal, Outcome

EXIT_USAGE = 64


class _LazyConsole:
    """A rich Console built on first use, so `chaoskit --help` does not import rich."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, soft_wrap=True)
        return getattr(self._console, name)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


err = cast("Console", _LazyConsole(stderr=True))
out = cast("Console", _LazyConsole(stderr=False))

EPILOG_RUN = """\b
Examples:
  chaoskit run experiments/dependency-latency.yaml
  chaoskit run exp.yaml --var target_url=http://127.0.0.1:8080 --out runs/
  chaoskit run exp.yaml --dry-run           # validate and resolve targets, inject nothing
  chaoskit run gameday/ --json              # every file in a folder; a JSON verdict on stdout

\b
Exit codes: 0 passed, 1 deviated, 2 baseline-not-met, 3 aborted, 4 error,
            5 invalid, 130 interrupted, 64 bad command-line usage.
"""


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
            if not found:
                raise click.UsageError(f"{path}: no experiment files (*.yaml, *.yml, *.json) in this folder")
            files.extend(found)
        else:
            files.append(path)
    return files


def _vars(values: tuple[str, ...]) -> dict[str, Any]:
    from chaoskit.config import parse_var

    out_vars: dict[str, Any] = {}
    for text in values:
        try:
            name, value = parse_var(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--var") from None
        out_vars[name] = value
    return out_vars


def _print_invalid(exc: ValidationFailed) -> None:
    err.print(f"[bold red]✗ {escape(exc.source or 'experiment')}[/] is invalid:", highlight=False)
    for problem in exc.problems:
        err.print(f"  - {escape(str(problem))}", highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="chaoskit")
def cli() -> None:
    """chaoskit: chaos experiments with a steady-state hypothesis, faults that are always reverted,
    load-aware verdicts and OpenTelemetry traces.

    \b
    Start here:
      chaoskit init my-experiment.yaml     # scaffold an experiment
      chaoskit validate my-experiment.yaml # check it (every problem, with its path and line)
      chaoskit run my-experiment.yaml      # run it; the journal is written under chaoskit-runs/
      chaoskit list                        # installed faults, probes and load drivers
    """


@cli.command(epilog=EPILOG_RUN)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a configuration value.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("chaoskit-runs"),
    show_default=True,
    help="Folder for run folders (journal, trace, report).",
)
@click.option("--dry-run", is_flag=True, help="Validate and resolve targets; inject nothing, run no probe.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable verdict on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No live progress.")
@click.option("--verbose", "-v", is_flag=True, help="Show every probe result, also the passing continuous ones.")
@click.option("--fail-fast", is_flag=True, help="With several experiments: stop after the first that does not pass.")
@click.option(
    "--ledger-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where revert ledgers go (default $CHAOSKIT_STATE_DIR/ledger).",
)
@click.option(
    "--summary-md",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write a Markdown summary here (it is appended to $GITHUB_STEP_SUMMARY when that is set).",
)
def run(
    paths: tuple[Path, ...],
    variables: tuple[str, ...],
    out_dir: Path,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    verbose: bool,
    fail_fast: bool,
    ledger_dir: Path | None,
    summary_md: Path | None,
) -> None:
    """Run one or more experiments (files, or folders of them) in order."""
    from chaoskit.loader import load_experiment
    from chaoskit.model.journal import Outcome
    from chaoskit.progress import LiveProgress, verdict_line
    from chaoskit.runner import RunOptions, run_experiment

    files = _expand(paths)
    overrides = _vars(variables)
    hooks: list[Any] = [] if quiet else [LiveProgress(err, verbose)]
    results: list[tuple[Path, Outcome, Journal | None, str]] = []
    for path in files:
        try:
            loaded = load_experiment(path, overrides)
        except ValidationFailed as exc:
            _print_invalid(exc)
            results.append((path, Outcome.INVALID, None, f"{len(exc.problems)} validation problem(s)"))
        else:
            options = RunOptions(out_dir=out_dir, dry_run=dry_run, ledger_dir=ledger_dir, hooks=hooks)
            journal = run_experiment(loaded, options)
            _report(journal)
            if not quiet:
                err.print(verdict_line(journal), highlight=False)
                for fault in journal.faults if dry_run else []:
                    err.print(f"  would inject {escape(fault.name)}: {escape(fault.target)}")
                err.print(f"  journal: {journal.artifacts.get('journal')}", highlight=False)
                if "trace" in journal.artifacts:
                    err.print(f"  trace:   {journal.artifacts['trace']} (trace id {journal.trace_id})", highlight=False)
                if "report" in journal.artifacts:
                    err.print(f"  report:  {journal.artifacts['report']}", highlight=False)
            results.append((path, journal.outcome or Outcome.ERROR, journal, journal.reason))
        if results[-1][1] == Outcome.INTERRUPTED or (fail_fast and results[-1][1] != Outcome.PASSED):
            break
    if len(files) > 1 and not quiet:
        _summary(results, len(files))
    _write_summary_md(results, summary_md)
    if as_json:
        verdicts = [_verdict(p, o, j, r) for p, o, j, r in results]
        print(json.dumps(verdicts[0] if len(files) == 1 else {"runs": verdicts}, indent=2))
    sys.exit(_worst([o for _, o, _, _ in results]))


def _verdict(path: Path, outcome: Outcome, journal: Journal | None, reason: str) -> dict[str, Any]:
    return {
        "file": str(path),
        "outcome": outcome.value,
        "exit_code": outcome.exit_code,
        "reason": reason,
        "ttr_s": journal.ttr_s if journal else None,
        "load_ttr_s": (journal.load or {}).get("ttr_s") if journal else None,
        "run_id": journal.run_id if journal else None,
        "journal": journal.artifacts.get("journal") if journal else None,
        "report": journal.artifacts.get("report") if journal else None,
    }


def _worst(outcomes: list[Outcome]) -> int:
    from chaoskit.model.journal import Outcome

    severity = [
        Outcome.INTERRUPTED,
        Outcome.ERROR,
        Outcome.INVALID,
        Outcome.ABORTED,
        Outcome.DEVIATED,
        Outcome.BASELINE_NOT_MET,
        Outcome.PASSED,
    ]
    for outcome in severity:
        if outcome in outcomes:
            return outcome.exit_code
    return 0


def _report(journal: Journal) -> None:
    """The HTML report next to the journal; a failure to write it is shown, never fatal to the verdict."""
    from chaoskit.report import report_run

    try:
        report_run(journal)
    except Exception as exc:
        err.print(f"[yellow]could not write the HTML report:[/] {escape(f'{type(exc).__name__}: {exc}')}")


def _rows(results: list[tuple[Path, Outcome, Journal | None, str]]) -> list[Any]:
    from chaoskit.report import row

    return [row(path.stem, journal, outcome, reason) for path, outcome, journal, reason in results]


def _summary(results: list[tuple[Path, Outcome, Journal | None, str]], planned: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from chaoskit.progress import OUTCOME_STYLE

    table = Table(title=f"game day: {len(results)} of {planned} experiments run")
    for col in ("experiment", "outcome", "score", "TTR", "errors", "p95 ms"):
        table.add_column(col, no_wrap=col in ("outcome", "score", "errors", "p95 ms"))
    table.add_column("finding", overflow="fold", ratio=1)
    for r in _rows(results):
        base, fault = r.baseline, r.fault
        errors = f"{_pct(base and base.error_rate)}→{_pct(fault and fault.error_rate)}"
        p95 = f"{_ms(base and base.p95_ms)}→{_ms(fault and fault.p95_ms)}"
        table.add_row(
            escape(r.name),
            f"[{OUTCOME_STYLE[r.outcome]}]{r.outcome.value}[/]",
            "-" if r.score is None else str(r.score),
            r.ttr,
            errors,
            p95,
            escape(r.finding),
        )
    wide = err if err.is_terminal else Console(stderr=True, width=150)  # logs (CI, files) are read wide
    wide.print(table)
    err.print("[dim]errors and p95: before the fault → during it (Locust load); TTR: steady state (load)[/]")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2g}%"


def _write_summary_md(results: list[tuple[Path, Outcome, Journal | None, str]], path: Path | None) -> None:
    import os

    from chaoskit.report import gameday_markdown, run_markdown

    targets = [p for p in (path, os.environ.get("GITHUB_STEP_SUMMARY")) if p]
    if not targets or not results:
        return
    if len(results) == 1 and results[0][2] is not None:
        text = run_markdown(results[0][2])
    else:
        text = gameday_markdown(_rows(results))
    for i, target in enumerate(targets):
        try:
            with Path(target).open("w" if i == 0 and path else "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            err.print(f"[yellow]could not write the Markdown summary to {escape(str(target))}:[/] {escape(str(exc))}")


@cli.command(
    epilog="\b\nExamples:\n  chaoskit report chaoskit-runs/20260101-120000-my-run-abc123/journal.json\n"
    "  chaoskit report chaoskit-runs/20260101-120000-my-run-abc123 --markdown >> summary.md"
)
@click.argument("journal_path", metavar="JOURNAL", type=click.Path(path_type=Path, exists=True))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Where to write the HTML.")
@click.option("--markdown", is_flag=True, help="Print a Markdown summary on stdout instead.")
def report(journal_path: Path, output: Path | None, markdown: bool) -> None:
    """Write the HTML report of a run (a journal file, or its run folder); works offline."""
    from pydantic import ValidationError

    from chaoskit.model.journal import Journal
    from chaoskit.report import run_markdown, write_html_report

    path = journal_path / "journal.json" if journal_path.is_dir() else journal_path
    try:
        journal = Journal.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        raise click.UsageError(f"{path} is not a chaoskit journal: {str(exc).splitlines()[0]}") from None
    journal.artifacts.setdefault("journal", str(path))
    if markdown:
        print(run_markdown(journal))
        return
    written = write_html_report(journal, output or path.with_name("report.html"))
    err.print(f"wrote {written}")


@cli.command(epilog="\b\nExamples:\n  chaoskit validate exp.yaml\n  chaoskit validate experiments/ --json")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a configuration value.")
@click.option("--json", "as_json", is_flag=True, help="Print problems as JSON on stdout.")
def validate(paths: tuple[Path, ...], variables: tuple[str, ...], as_json: bool) -> None:
    """Check experiment files: the core format and every plugin's parameters. Exit 5 when invalid."""
    from chaoskit.loader import load_experiment

    overrides = _vars(variables)
    report: list[dict[str, Any]] = []
    for path in _expand(paths):
        try:
            load_experiment(path, overrides)
        except ValidationFailed as exc:
            if not as_json:
                _print_invalid(exc)
            report.append(
                {
                    "file": str(path),
                    "valid": False,
                    "problems": [{"path": p.path, "line": p.line, "message": p.message} for p in exc.problems],
                }
            )
        else:
            if not as_json:
                err.print(f"[green]✓[/] {escape(str(path))} is valid", highlight=False)
            report.append({"file": str(path), "valid": True, "problems": []})
    if as_json:
        print(json.dumps(report, indent=2))
    sys.exit(0 if all(r["valid"] for r in report) else 5)


@cli.command("list", epilog="\b\nExamples:\n  chaoskit list\n  chaoskit list --kind fault --json")
@click.option("--kind", type=click.Choice(["probe", "action", "fault", "load", "section"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Everything as JSON, with each plugin's parameter schema.")
def list_plugins(kind: str | None, as_json: bool) -> None:
    """List installed plugins (faults, probes, actions, load drivers, sections) and their parameters."""
    from chaoskit.catalog import describe_plugins

    described = describe_plugins(kind)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps(described, indent=2))
        return
    for item in described:
        out.print(
            f"[bold]{item['kind']:<7}[/] [cyan]{escape(item['name'])}[/]  {escape(item['summary'])} "
            f"[dim]({escape(item['distribution'])})[/]",
            highlight=False,
        )
        for param in item["params"]:
            default = f" = {param['default']}" if "default" in param else " (required)"
            out.print(
                f"          {escape(param['name'])}: {escape(param['type'])}{escape(default)}"
                + (f"  [dim]{escape(param['description'])}[/]" if param["description"] else ""),
                highlight=False,
            )
        if "error" in item:
            out.print(f"          [red]{escape(item['error'])}[/]")


@cli.command(
    epilog="\b\nExamples:\n  chaoskit schema > chaoskit.schema.json\n"
    '  # VS Code: "yaml.schemas": {"chaoskit.schema.json": "experiments/*.yaml"}'
)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Write to a file.")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of the experiment format (for editors)."""
    from chaoskit.catalog import experiment_schema

    text = json.dumps(experiment_schema(), indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        print(text)


@cli.command(
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
    sys.exit(0 if report.ok else 4)


@cli.command(epilog="\b\nExamples:\n  chaoskit init my-api.yaml --url http://127.0.0.1:8080/health")
@click.argument("path", type=click.Path(path_type=Path), default=Path("experiment.yaml"))
@click.option("--url", default="http://127.0.0.1:8080/health", show_default=True, help="The endpoint to probe.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, url: str, force: bool) -> None:
    """Scaffold an experiment file to edit."""
    from chaoskit.catalog import scaffold

    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to overwrite it")
    path.write_text(scaffold(url), encoding="utf-8")
    err.print(f"wrote {path}; next: chaoskit validate {path} && chaoskit run {path} --dry-run")


def main(argv: list[str] | None = None) -> NoReturn:
    try:
        cli.main(args=argv, prog_name="chaoskit", standalone_mode=False)
    except click.UsageError as exc:
        if type(exc).__name__.startswith("NoArgsIsHelp"):  # `chaoskit` alone: show help, exit 0
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(0)
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        err.print("interrupted")
        sys.exit(130)
    except ValidationFailed as exc:
        _print_invalid(exc)
        sys.exit(exc.exit_code)
    except ChaosKitError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)


if __name__ == "__main__":
    main()
