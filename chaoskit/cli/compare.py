"""``chaoskit compare``, ``chaoskit baseline save`` and ``chaoskit history``: the CI resilience regression gate."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chaoskit.cli.console import err, escape

if TYPE_CHECKING:
    from chaoskit.compare.rules import Comparison

EXIT_REGRESSION, EXIT_NOT_COMPARABLE = 1, 7

COMPARE_EPILOG = """\b
Examples:
  chaoskit compare baselines/ chaoskit-runs/              # a stored baseline vs this run's runs
  chaoskit compare main-runs/ pr-runs/ --threshold p95_ms=25%,30 --summary-md diff.md
  chaoskit compare baselines/ runs/ --json --html compare.html

\b
BASELINE and CURRENT: a journal, a run folder, a baseline file or folder (chaoskit baseline save), or a
folder of run folders (a game day). Experiments are matched by title; each current run is compared with
every baseline run of its experiment (their mean and spread). A metric regresses when it is worse than
the baseline mean by more than its relative margin, its absolute margin and the noise band (--noise
standard deviations of the baseline runs); an outcome that was passed and is not is a regression too.
Thresholds: defaults < the experiment's regression: block < --config FILE < --threshold flags.

\b
Exit codes: 0 no regression, 1 regression, 7 not comparable (an experiment without a baseline, or
windows the current run lacks), 4 unreadable input, 64 bad usage.
"""


@click.command(epilog=COMPARE_EPILOG)
@click.argument("baseline", type=click.Path(path_type=Path, exists=True))
@click.argument("current", type=click.Path(path_type=Path, exists=True))
@click.option("--threshold", "flags", multiple=True, metavar="FAMILY=VALUE", help="e.g. p95_ms=25%, error_rate=0.02")
@click.option("--config", type=click.Path(path_type=Path, exists=True), help="A YAML/JSON regression: block.")
@click.option("--noise", type=click.FloatRange(0, 100), default=None, help="Noise band in baseline std devs (3).")
@click.option("--json", "as_json", is_flag=True, help="The comparison as JSON on stdout.")
@click.option("--summary-md", type=click.Path(path_type=Path), help="Also write Markdown ($GITHUB_STEP_SUMMARY too).")
@click.option("--html", "html_out", type=click.Path(path_type=Path), help="Write an HTML page (timelines overlaid).")
def compare(
    baseline: Path,
    current: Path,
    flags: tuple[str, ...],
    config: Path | None,
    noise: float | None,
    as_json: bool,
    summary_md: Path | None,
    html_out: Path | None,
) -> None:
    """Compare runs with a baseline: did recovery, errors or latency under faults get worse?"""
    from chaoskit.compare import render
    from chaoskit.compare.rules import compare_runs, parse_flag, resolve
    from chaoskit.compare.summary import by_experiment, load_runs

    parsed = dict(parse_flag(f) for f in flags)  # bad flags first: before any file is read
    flag_layer: dict[str, Any] = {"thresholds": {k: v.model_dump(exclude_none=True) for k, v in parsed.items()}}
    if noise is not None:
        flag_layer["noise"] = noise
    file_layer = _config(config)
    base = by_experiment(load_runs(baseline))
    now = by_experiment(load_runs(current))
    if not now:
        raise click.UsageError(f"{current}: no runs found (journals, run folders or baseline files)")
    comparisons: list[Comparison] = []
    not_comparable: list[str] = []
    for experiment, runs in now.items():
        if experiment not in base:
            not_comparable.append(
                f"{experiment!r} has no baseline (baseline has: {', '.join(map(repr, base)) or 'none'})"
            )
            continue
        block = _experiment_block(runs[-1], current)
        per_file = file_layer.get(experiment) if isinstance(file_layer.get(experiment), dict) else file_layer
        rules = resolve([block, per_file, flag_layer])
        comparisons.extend(compare_runs(base[experiment], run, rules) for run in runs)
    text = render.markdown(comparisons, not_comparable)
    for i, target in enumerate(t for t in (summary_md, os.environ.get("GITHUB_STEP_SUMMARY")) if t):
        _write(Path(target), text, "w" if i == 0 and summary_md else "a")
    if html_out is not None:
        _write(html_out, render.compare_html(comparisons, not_comparable), "w")
        err.print(f"wrote {html_out}")
    if as_json:
        print(json.dumps(render.as_json(comparisons, not_comparable), indent=2))
    else:
        _print(comparisons, not_comparable)
    if any(c.regressed for c in comparisons):
        sys.exit(EXIT_REGRESSION)
    sys.exit(EXIT_NOT_COMPARABLE if not_comparable or any(c.problem for c in comparisons) else 0)


def _write(path: Path, text: str, mode: str) -> None:
    """An output file (its folder is created); a failure is exit 4 with the path, never a traceback (whose exit
    code 1 would read as "regression" in CI)."""
    from chaoskit.errors import ChaosKitError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChaosKitError(f"cannot write {path}: cannot create its folder {path.parent}: {exc}") from None
    try:
        with path.open(mode, encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise ChaosKitError(f"cannot write {path}: {exc.strerror or exc}") from None


def _config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise click.UsageError(f"{path}: expected a mapping (a regression: block, or one per experiment title)")
    inner = data.get("regression", data)
    return inner if isinstance(inner, dict) else {}


def _experiment_block(run: Any, where: Path) -> dict[str, Any] | None:
    """The ``regression:`` block of the experiment the current run ran (from its journal, when it is there)."""
    for journal in [where] if where.name == "journal.json" else where.rglob("journal.json"):
        try:
            data = json.loads(journal.read_bytes())
        except (OSError, ValueError):
            continue
        if data.get("run_id") == run.run_id:
            block = (data.get("experiment") or {}).get("regression")
            return block if isinstance(block, dict) else None
    return None


def _print(comparisons: list[Any], not_comparable: list[str]) -> None:
    from rich.table import Table

    from chaoskit.compare import render

    for c in comparisons:
        state = "[red]REGRESSION[/]" if c.regressed else "[green]no regression[/]"
        table = Table(title=f"{escape(c.experiment)}: {state}", title_justify="left")
        for col in ("metric", "baseline", "current", "Δ", "verdict"):
            table.add_column(col)
        for f in c.findings:
            style = "red" if f.regression else ""
            table.add_row(
                escape(f.metric),
                render.baseline_text(f),
                render.fmt(f.current, f.metric),
                render.fmt(f.delta, f.metric),
                f"[{style}]{escape(render.verdict_text(f))}[/]" if style else "ok",
            )
        err.print(table)
        if c.outcome_regressed:
            err.print(f"[red]outcome: {'/'.join(sorted({r.outcome for r in c.baseline}))} → {c.current.outcome}[/]")
        if c.problem:
            err.print(f"[yellow]not comparable:[/] {escape(c.problem)}")
    for problem in not_comparable:
        err.print(f"[yellow]not comparable:[/] {escape(problem)}")


@click.group()
def baseline() -> None:
    """Store runs as a baseline (small, versioned JSON per experiment, git-friendly)."""


@baseline.command(
    "save",
    epilog="\b\nExamples:\n  chaoskit baseline save chaoskit-runs/ --to baselines/\n"
    "  chaoskit baseline save runs/ --to baselines/ --append --keep 10",
)
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--to", "folder", required=True, type=click.Path(path_type=Path), help="The baseline folder.")
@click.option("--append", is_flag=True, help="Add to the runs stored there (else replace them).")
@click.option("--keep", type=click.IntRange(1, 1000), default=20, show_default=True, help="Runs kept per experiment.")
def save(runs: tuple[Path, ...], folder: Path, append: bool, keep: int) -> None:
    """Summarize runs (journals, run folders, game days) into FOLDER/<experiment>.baseline.json."""
    from chaoskit.compare.summary import load_runs, save_baseline

    summaries = [s for path in runs for s in load_runs(path)]
    if not summaries:
        raise click.UsageError("no runs found in " + ", ".join(map(str, runs)))
    for path in save_baseline(summaries, folder, append=append, keep=keep):
        err.print(f"wrote {path}")


@click.command(epilog="\b\nExamples:\n  chaoskit history baselines/\n  chaoskit history ci-runs/ --html history.html")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--html", "html_out", type=click.Path(path_type=Path), help="Write an HTML page with small charts.")
@click.option("--json", "as_json", is_flag=True, help="The runs and their trend numbers as JSON on stdout.")
def history(paths: tuple[Path, ...], html_out: Path | None, as_json: bool) -> None:
    """Runs over time per experiment: TTR, and the worst fault window's error rate and p95."""
    from rich.table import Table

    from chaoskit.compare import render
    from chaoskit.compare.summary import by_experiment, load_runs

    grouped = by_experiment([s for path in paths for s in load_runs(path)])
    if not grouped:
        raise click.UsageError("no runs found in " + ", ".join(map(str, paths)))
    if html_out is not None:
        html_out.write_text(render.history_html(grouped), encoding="utf-8")
        err.print(f"wrote {html_out}")
    if as_json:
        print(
            json.dumps(
                {
                    e: [
                        {
                            "run_id": r.run_id,
                            "started_at": r.started_at,
                            "outcome": r.outcome,
                            **render.trend_metrics(r),
                        }
                        for r in runs
                    ]
                    for e, runs in grouped.items()
                },
                indent=2,
            )
        )
        return
    for experiment, runs in grouped.items():
        table = Table(title=f"{escape(experiment)} ({len(runs)} runs)", title_justify="left")
        names = list(render.trend_metrics(runs[0]))
        for col in ("run", "outcome", *names):
            table.add_column(col)
        for run in runs:
            trend = render.trend_metrics(run)
            table.add_row(run.run_id, run.outcome, *(render.fmt(trend[n], n) for n in names))
        err.print(table)
