"""A game day as library code: several experiments in order, every artifact written, one exit code.

:func:`run_many` runs each file (a file that is invalid is a result too, outcome ``invalid``), writes each run's
journal and trace (the runner does) and HTML report, and -- for more than one file -- the game day's
``index.html``; it stops after an interrupted run, or after the first run that does not pass with
``fail_fast``. The exit code is the most severe one (:func:`chaoskit.model.outcome.worst_exit_code`). The CLI
only renders what it returns; CI jobs and scripts can call it the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaoskit.errors import Problem, ValidationFailed
from chaoskit.model.outcome import Outcome, worst_exit_code
from chaoskit.record import field, record

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal
    from chaoskit.report.day import Span
    from chaoskit.report.markdown import Row
    from chaoskit.run.notes import Notebook
    from chaoskit.runner import RunOptions


@record
class RunResult:
    path: Path
    outcome: Outcome
    journal: Journal | None
    reason: str
    exit_code: int
    problems: list[Problem] = field(default_factory=list)
    """Validation problems (outcome ``invalid``)."""
    invalid: ValidationFailed | None = None
    """The validation or preflight error itself (its kind, for showing it)."""


@record
class GameDay:
    results: list[RunResult]
    planned: int
    index: Path | None = None
    warnings: list[str] = field(default_factory=list)
    """Artifacts that could not be written (never fatal to a verdict)."""

    @property
    def exit_code(self) -> int:
        return worst_exit_code([r.exit_code for r in self.results])

    def rows(self) -> list[Row]:
        return rows(self.results)


def rows(results: list[RunResult]) -> list[Row]:
    from chaoskit.report import row

    return [row(r.path.stem, r.journal, r.outcome, r.reason) for r in results]


def run_many(
    paths: list[Path],
    options: RunOptions,
    overrides: Mapping[str, Any] | None = None,
    fail_fast: bool = False,
    run_other: Callable[[Path], RunResult | None] | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    notebook: Notebook | None = None,
) -> GameDay:
    """Run ``paths`` in order with ``options`` (each run gets its own folder under ``options.out_dir``).
    ``run_other`` may run a file another way (a Chaos Toolkit file) and return its result, or None;
    ``on_result`` is called after each run (live output); ``notebook``: the notes taken meanwhile (the live
    page's), for the index."""
    from chaoskit.loader import load_experiment
    from chaoskit.runner import run_experiment

    day = GameDay([], planned=len(paths))
    for path in paths:
        result = run_other(path) if run_other is not None else None
        if result is None:
            try:
                loaded = load_experiment(path, dict(overrides or {}))
                if options.dry_run:  # what each plugin will need, checked without side effects
                    from chaoskit.preflight import preflight

                    preflight(loaded)
            except ValidationFailed as exc:
                kind = "validation" if exc.exit_code == Outcome.INVALID.exit_code else "preflight"
                result = RunResult(
                    path,
                    Outcome.INVALID,
                    None,
                    f"{len(exc.problems)} {kind} problem(s)",
                    exc.exit_code,
                    exc.problems,
                    exc,
                )
            else:
                journal = run_experiment(loaded, options)
                day.warnings += write_report(journal)
                outcome = journal.outcome or Outcome.ERROR
                result = RunResult(path, outcome, journal, journal.reason, outcome.exit_code)
        day.results.append(result)
        if on_result is not None:
            on_result(result)
        if result.outcome == Outcome.INTERRUPTED or (fail_fast and result.exit_code != 0):
            break
    if len(paths) > 1:
        from chaoskit.report.index import write_index

        try:
            notes = [(n.at, n.by, n.text) for n in notebook.notes()] if notebook is not None else []
            day.index = write_index(day.rows(), options.out_dir, day.exit_code, notes=notes, spans=spans(day.results))
        except OSError as exc:
            day.warnings.append(f"could not write the game day's index.html: {exc}")
    return day


def spans(results: list[RunResult]) -> list[Span]:
    """Each run's span and fault windows, for the day's timeline (runs without a journal are left out)."""
    from chaoskit.report.day import span_of

    return [span_of(r.path.stem, r.journal) for r in results if r.journal is not None]


def write_report(journal: Journal) -> list[str]:
    """The HTML report next to the journal; returns what went wrong (a report never changes a verdict)."""
    from chaoskit.report import report_run

    try:
        report_run(journal)
    except Exception as exc:
        return [f"could not write the HTML report: {type(exc).__name__}: {exc}"]
    return []


__all__ = ["GameDay", "RunResult", "rows", "run_many", "spans", "write_report"]
