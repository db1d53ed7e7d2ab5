"""``chaoskit run``: one experiment or a game day of several, with live progress and a verdict."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chaoskit.cli.console import err, escape, expand_paths, parse_vars, print_invalid
from chaoskit.cli.ctk import CtkFlags, ctk_options, is_ctk_file, run_ctk
from chaoskit.errors import ValidationFailed

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal
    from chaoskit.run.gameday import GameDay, RunResult

EPILOG_RUN = """\b
Examples:
  chaoskit run experiments/dependency-latency.yaml
  chaoskit run exp.yaml --var target_url=http://127.0.0.1:8080 --out runs/
  chaoskit run exp.yaml --dry-run           # validate and resolve targets, inject nothing
  chaoskit run gameday/ --json              # every file in a folder; a JSON verdict on stdout
  chaoskit run exp.yaml --repeat 5 --out baseline-runs/   # then: chaoskit baseline save baseline-runs/ --to b/
  chaoskit run ctk-experiment.json --rollback-strategy always   # a Chaos Toolkit file, CTK's rules

\b
Chaos Toolkit files (recognised by their shape) run with CTK's rules and CTK's verdict: exit 0 when
CTK's status is completed and nothing deviated, else 1 (130 interrupted, 5 invalid). `--fail-fast`
also makes their continuous hypothesis fail fast, as in `chaos run`.

\b
Flow of a run: load -> warm-up -> steady state before -> method (faults injected and held)
  -> revert the faults (last in, first out) -> recovery (the steady state must hold again by
  itself) -> rollbacks (cleanup; after recovery, so they cannot hide a system that does not heal).

\b
Exit codes: 0 passed, 1 deviated, 2 baseline-not-met, 3 aborted, 4 error,
            5 invalid, 6 preflight failed (--dry-run), 130 interrupted, 64 bad command-line usage;
            a clean --dry-run exits 0 with the outcome dry-run (never "passed").
With several experiments the exit code is the most severe of their codes, in this order:
130 interrupted, 4 error, 5 invalid, 6 preflight failed, 3 aborted, 1 deviated, 2 baseline-not-met, 0 passed.
"""


def serve_options(func: Any) -> Any:
    """``--serve`` and ``--serve-token-env`` (``chaoskit run`` and ``chaoskit gameday``)."""
    func = click.option(
        "--serve-token-env",
        metavar="NAME",
        default=None,
        help="An environment variable with the token the live page requires (needed off loopback).",
    )(func)
    return click.option(
        "--serve",
        metavar="HOST:PORT",
        is_flag=False,
        flag_value="127.0.0.1:8089",
        default=None,
        help="Serve a live page (and a HALT button) while it runs; --serve alone: 127.0.0.1:8089.",
    )(func)


@click.command(epilog=EPILOG_RUN)
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
@click.option(
    "--fail-fast",
    is_flag=True,
    help="With several experiments: stop after the first that does not pass (CTK files: also CTK's --fail-fast).",
)
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
@click.option(
    "--repeat",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Run each experiment N times in a row (a baseline with its noise, for `chaoskit compare`).",
)
@serve_options
@ctk_options
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
    repeat: int,
    serve: str | None,
    serve_token_env: str | None,
    **ctk: Any,
) -> None:
    """Run one or more experiments (files, or folders of them) in order."""
    import atexit
    import os

    from chaoskit.live import FEED_ENV
    from chaoskit.model.journal import Outcome
    from chaoskit.run.gameday import RunResult, run_many
    from chaoskit.runner import RunOptions

    files = [path for path in expand_paths(paths) for _ in range(repeat)]
    flags = CtkFlags(variables=variables, fail_fast=fail_fast, **ctk)
    ctk_files = {path for path in files if is_ctk_file(path)}
    flags.several = len(ctk_files) > 1
    if flags.only_for_ctk() and len(ctk_files) < len(files):
        raise click.UsageError(f"{', '.join(flags.only_for_ctk())}: only for Chaos Toolkit experiments")
    overrides = parse_vars(variables) if len(ctk_files) < len(files) else {}
    hooks: list[Any] = []
    if not quiet:  # rich (the live progress) is imported only when something is shown
        from chaoskit.progress import LiveProgress

        hooks.append(LiveProgress(err, verbose))
    feed = os.environ.pop(FEED_ENV, None)  # one experiment of a game day's parallel group: its state to the day
    if feed is not None and feed.isdigit():
        from chaoskit.live.feed import start_feed
        from chaoskit.live.state import LiveState

        child = LiveState([path.name for path in files])
        hooks.append(child)
        atexit.register(start_feed(child, int(feed)))
    notebook = None
    if serve is not None:
        from chaoskit.run.notes import Notebook

        notebook = Notebook()  # the live page's notes: into the journals, and the index of several runs
        hooks.append(serve_live(serve, serve_token_env, [path.name for path in files], notebook))

    def run_ctk_file(path: Path) -> RunResult | None:
        if path not in ctk_files:
            return None
        outcome, ctk_journal, reason, code = run_ctk(path, flags, out_dir, dry_run, ledger_dir, quiet)
        return RunResult(path, outcome, ctk_journal, reason, code)

    def show(result: RunResult) -> None:
        if result.outcome == Outcome.INVALID:
            print_invalid(result.invalid or ValidationFailed(result.problems, str(result.path)))
        elif result.path not in ctk_files and result.journal is not None and not quiet:
            _show_run(result.journal, dry_run)

    options = RunOptions(out_dir=out_dir, dry_run=dry_run, ledger_dir=ledger_dir, hooks=hooks)
    day = run_many(files, options, overrides, fail_fast, run_ctk_file, show, notebook)
    for warning in day.warnings:
        err.print(f"[yellow]{escape(warning)}[/]")
    if len(files) > 1 and not quiet:
        _summary(day)
        if day.index is not None:
            err.print(f"game day index: {day.index}", highlight=False)
    _write_summary_md(day, summary_md)
    if as_json:
        verdicts = [_verdict(r) for r in day.results]
        print(json.dumps(verdicts[0] if len(files) == 1 else {"runs": verdicts}, indent=2))
    sys.exit(day.exit_code)


def _show_run(journal: Journal, dry_run: bool) -> None:
    from chaoskit.progress import verdict_line

    err.print(verdict_line(journal), highlight=False)
    for fault in journal.faults if dry_run else []:
        err.print(f"  would inject {escape(fault.name)}: {escape(fault.target)}")
    err.print(f"  journal: {journal.artifacts.get('journal')}", highlight=False)
    if "trace" in journal.artifacts:
        err.print(f"  trace:   {journal.artifacts['trace']} (trace id {journal.trace_id})", highlight=False)
    if "report" in journal.artifacts:
        err.print(f"  report:  {journal.artifacts['report']}", highlight=False)


def serve_live(address: str, token_env: str | None, queue: list[str], notebook: Any = None) -> Any:
    """Start the live view (``--serve``); it stops when the command exits. Returns the state hook to register.
    ``notebook``: the day's :class:`chaoskit.run.notes.Notebook` (the page's notes go there)."""
    import atexit
    import os

    from chaoskit.live.server import LiveServer, is_loopback, parse_address
    from chaoskit.live.state import LiveState

    try:
        host, port = parse_address(address)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--serve") from None
    token = os.environ.get(token_env) if token_env else None
    if token_env and not token:
        raise click.BadParameter(f"the variable {token_env} is not set or empty", param_hint="--serve-token-env")
    if not is_loopback(host) and token is None:
        raise click.BadParameter(
            f"{host} is not a loopback address: set --serve-token-env NAME (a variable holding a token)",
            param_hint="--serve",
        )
    state = LiveState(queue, notebook)
    try:
        server = LiveServer((host, port), state, token)
    except OSError as exc:
        raise click.BadParameter(f"cannot listen on {address}: {exc.strerror or exc}", param_hint="--serve") from None
    server.start()
    atexit.register(server.stop)
    err.print(f"live view: {server.url}", highlight=False)
    return state


def _verdict(result: RunResult) -> dict[str, Any]:
    from chaoskit.model.outcome import Outcome

    journal = result.journal
    return {
        "file": str(result.path),
        "outcome": result.outcome.value,
        "dry_run": result.outcome == Outcome.DRY_RUN,
        "exit_code": result.exit_code,
        "reason": result.reason,
        "ttr_s": journal.ttr_s if journal else None,
        "load_ttr_s": journal.load.ttr_s if journal and journal.load else None,
        "run_id": journal.run_id if journal else None,
        "journal": journal.artifacts.get("journal") if journal else None,
        "report": journal.artifacts.get("report") if journal else None,
    }


def _summary(day: GameDay) -> None:
    from rich.console import Console
    from rich.table import Table

    from chaoskit.progress import OUTCOME_STYLE

    table = Table(title=f"game day: {len(day.results)} of {day.planned} experiments run")
    for col in ("experiment", "outcome", "score", "TTR", "errors", "p95 ms"):
        table.add_column(col, no_wrap=col in ("outcome", "score", "errors", "p95 ms"))
    table.add_column("finding", overflow="fold", ratio=1)
    for r in day.rows():
        base, fault = r.baseline, r.fault
        errors = f"{_pct(base.error_rate if base else None)}→{_pct(fault.error_rate if fault else None)}"
        p95 = f"{_ms(base.p95_ms if base else None)}→{_ms(fault.p95_ms if fault else None)}"
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


def _write_summary_md(day: GameDay, path: Path | None) -> None:
    import os

    targets = [p for p in (path, os.environ.get("GITHUB_STEP_SUMMARY")) if p]
    results, index = day.results, str(day.index) if day.index else None
    if not targets or not results:
        return
    from chaoskit.report import gameday_markdown, run_markdown

    for i, target in enumerate(targets):
        # the --summary-md file links the reports relative to itself; the CI job summary gets absolute paths
        base = Path(target).parent if i == 0 and path else None
        if len(results) == 1 and results[0].journal is not None:
            text = run_markdown(results[0].journal, base)
        else:
            text = gameday_markdown(day.rows(), base=base, index=index)
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)  # like --out: the folder is created
            with Path(target).open("w" if i == 0 and path else "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            err.print(f"[yellow]could not write the Markdown summary to {escape(str(target))}:[/] {escape(str(exc))}")
