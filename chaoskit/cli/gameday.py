"""``chaoskit gameday PLAN.yaml``: a game-day plan with parallel groups, manual gates and notes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from chaoskit.cli.console import err, escape, print_invalid
from chaoskit.cli.run import serve_live, serve_options
from chaoskit.errors import ValidationFailed

EPILOG = """\b
A plan:
  title: Q4 game day
  stop_when: [aborted, error]           # outcomes that stop the day (default: aborted, error, invalid)
  steps:
    - experiment: experiments/dependency-latency.yaml
      vars: {latency_ms: 300}
    - gate: "Payments on-call is watching?"   # asks in the terminal and on the live page; --yes skips
    - parallel:                                # side by side, each in its own chaoskit run
        - experiment: experiments/pod-kill.yaml
        - experiment: experiments/cpu-pressure.yaml

\b
Examples:
  chaoskit gameday plan.yaml
  chaoskit gameday plan.yaml --yes --note "release 4.2 candidate" --serve

\b
A gate is answered in the terminal or, with --serve, on the live page (the first answer wins); the page
also takes notes, timestamped into the running experiment's journal and the day's index.html.

\b
Exit codes: the most severe of the experiments' (as chaoskit run); 5 when the plan or an experiment is
invalid (every problem listed, nothing run); 64 when the plan has gates, --yes is not given, and there is
neither a terminal nor --serve to answer them.
"""


@click.command(epilog=EPILOG)
@click.argument("plan_path", metavar="PLAN", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("chaoskit-runs"), show_default=True)
@click.option("--yes", is_flag=True, help="Pass every gate without asking (CI).")
@click.option("--note", "notes", multiple=True, metavar="TEXT", help="A note for the day's index (repeatable).")
@serve_options
@click.option("--quiet", "-q", is_flag=True, help="No live progress.")
def gameday(
    plan_path: Path,
    out_dir: Path,
    yes: bool,
    notes: tuple[str, ...],
    serve: str | None,
    serve_token_env: str | None,
    quiet: bool,
) -> None:
    """Run a game-day plan: experiments in order, parallel groups, manual gates and notes; one index.html."""
    from typing import Any

    from chaoskit.model.plan import GateStep
    from chaoskit.run.notes import GateAnswer, Notebook
    from chaoskit.run.plan import experiments, load_plan, run_plan
    from chaoskit.runner import RunOptions

    try:
        plan = load_plan(plan_path)
    except ValidationFailed as exc:
        print_invalid(exc)
        sys.exit(exc.exit_code)
    terminal = sys.stdin.isatty()
    if any(isinstance(s, GateStep) for s in plan.steps) and not (yes or terminal or serve is not None):
        raise click.UsageError(
            "the plan has gates and this is not a terminal: pass --yes to skip them, or --serve to answer them "
            "on the live page"
        )
    hooks: list[Any] = []
    if not quiet:
        from chaoskit.progress import LiveProgress

        hooks.append(LiveProgress(err))
    notebook = Notebook(notes)
    live = None
    if serve is not None:
        live = serve_live(serve, serve_token_env, [s.experiment for _, _, s in experiments(plan)], notebook)
        hooks.append(live)

    def say(text: str) -> None:
        err.print(escape(text), highlight=False)

    def note_prompt() -> str:
        return str(click.prompt("a note for the day (empty: none)", default="", show_default=False, err=True))

    def approve(question: str) -> GateAnswer:
        if yes:
            err.print(f"[dim]gate passed (--yes):[/] {escape(question)}", highlight=False)
            return GateAnswer(True, "", "--yes")
        if live is not None:
            from chaoskit.live.gate import ask

            return ask(question, live, sys.stdin if terminal else None, say, note_prompt)
        go = click.confirm(f"gate: {question} Go on?", default=False, err=True)
        return GateAnswer(go, note_prompt())

    def show(result: Any) -> None:
        said = (
            result.reason
            if result.reason.startswith(result.outcome.value)
            else f"{result.outcome.value}: {result.reason}"
        )
        err.print(f"{escape(result.path.name)}: {escape(said.rstrip(': '))}", highlight=False)

    options = RunOptions(out_dir=out_dir, hooks=hooks)
    day = run_plan(plan, plan_path.parent, options, approve, show, notebook, live)
    if day.stopped:
        err.print(f"[yellow]the day stopped:[/] {escape(day.stopped)}", highlight=False)
    err.print(f"game day index: {day.index}", highlight=False)
    sys.exit(day.exit_code)
