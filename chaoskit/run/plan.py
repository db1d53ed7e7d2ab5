"""Running a game-day plan: steps in order, parallel groups side by side (each experiment in its own
``chaoskit run`` process: a run owns its process's signal handlers), manual gates, notes, the stop rule, and the
day's ``index.html`` with every report and the notes.

The plan and every experiment it names are validated before anything runs (every problem with its path)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chaoskit.errors import Problem, ValidationFailed
from chaoskit.model.base import StrictModel
from chaoskit.model.outcome import Outcome, worst_exit_code
from chaoskit.model.plan import ExperimentStep, GateStep, ParallelStep, Plan
from chaoskit.run.gameday import RunResult, rows, run_many, spans
from chaoskit.run.notes import MAX_NOTE, Gate, GateAnswer, Note, Notebook
from chaoskit.runner import RunOptions

if TYPE_CHECKING:
    from chaoskit.document import LineMap
    from chaoskit.live.state import LiveState


@dataclass
class DayResult:
    plan: Plan
    results: list[RunResult] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    stopped: str = ""
    index: Path | None = None

    @property
    def exit_code(self) -> int:
        return worst_exit_code([r.exit_code for r in self.results]) if self.results else 0


def load_plan(path: Path) -> Plan:
    """The plan, validated, with every experiment it names validated too (each problem once, with its path and
    file line, like an experiment's: ``plan.yaml:5: steps[1].varz: unknown key; did you mean 'vars'?``)."""
    from chaoskit.loader import line_of, load_experiment, read_document

    source = str(path)
    data, lines = read_document(path)
    problems, valid = _plan_problems(data, lines, source)
    for where, loc, step in valid:  # the experiments of the steps that are right, even when others are not
        try:
            load_experiment(path.parent / step.experiment, dict(step.vars))
        except ValidationFailed as exc:
            for p in exc.problems:
                name = step.experiment if p.line is None else f"{step.experiment}:{p.line}"
                inner = f": {p.path}" if p.path else ""
                at = line_of(lines, (*loc, "experiment"))
                problems.append(Problem(f"{where}.experiment ({name}){inner}", p.message, at, source))
    if problems:
        raise ValidationFailed(sorted(problems, key=lambda p: p.line or 0), source)
    return Plan.model_validate(data)


_STEP_KINDS: dict[str, type[StrictModel]] = {"experiment": ExperimentStep, "parallel": ParallelStep, "gate": GateStep}


def _plan_problems(
    data: Any, lines: LineMap, source: str
) -> tuple[list[Problem], list[tuple[str, tuple[Any, ...], ExperimentStep]]]:
    """Every problem of the plan: its own keys first, then each step against the one kind its key names (a step
    of no known kind: the key that looks like one, with a "did you mean"). Also: the valid experiment steps."""
    from chaoskit.hints import did_you_mean
    from chaoskit.loader import format_path, line_of, problems_from

    steps = data.get("steps") if isinstance(data, dict) else None
    shape = data
    if isinstance(steps, list):  # steps are checked one by one below, each against its own kind
        shape = {**data, "steps": [{"gate": "-"}] * len(steps)}
    found: list[Problem] = []
    valid: list[tuple[str, tuple[Any, ...], ExperimentStep]] = []
    try:
        Plan.model_validate(shape)
    except ValidationError as exc:
        found += problems_from(exc, (), lines, source, Plan)
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        loc = ("steps", i)
        kinds = [k for k in _STEP_KINDS if isinstance(step, dict) and k in step]
        if len(kinds) == 1:
            model = _STEP_KINDS[kinds[0]]
            try:
                checked = model.model_validate(step)
            except ValidationError as exc:
                found += problems_from(exc, loc, lines, source, model)
                continue
            valid += experiments(Plan(title="-", steps=[checked]), offset=i)
            continue
        hints = [(k, did_you_mean(k, _STEP_KINDS)) for k in (step if isinstance(step, dict) else {})]
        guessed = [(k, hint) for k, hint in hints if hint and k not in _STEP_KINDS]
        if not kinds and guessed:
            found += [
                Problem(format_path((*loc, k)), "unknown key" + h, line_of(lines, (*loc, k)), source)
                for k, h in guessed
            ]
        else:
            what = f"got {', '.join(kinds)}" if kinds else "got none"
            found.append(
                Problem(
                    format_path(loc),
                    f"exactly one of experiment, parallel or gate ({what})",
                    line_of(lines, loc),
                    source,
                )
            )
    return found, valid


def experiments(plan: Plan, offset: int = 0) -> list[tuple[str, tuple[Any, ...], ExperimentStep]]:
    """Each experiment step: its path (``steps[1].parallel[0]``), its location in the document, the step
    (``offset``: the index of the plan's first step in the document)."""
    found: list[tuple[str, tuple[Any, ...], ExperimentStep]] = []
    for i, step in enumerate(plan.steps, offset):
        if isinstance(step, ExperimentStep):
            found.append((f"steps[{i}]", ("steps", i), step))
        elif isinstance(step, ParallelStep):
            found += [
                (f"steps[{i}].parallel[{j}]", ("steps", i, "parallel", j), s) for j, s in enumerate(step.parallel)
            ]
    return found


def _in_process(step: ExperimentStep, base: Path, options: RunOptions) -> RunResult:
    return run_many([base / step.experiment], options, dict(step.vars)).results[0]


def _subprocess(step: ExperimentStep, base: Path, out: Path, live: LiveState | None) -> RunResult:
    """One experiment of a parallel group in its own ``chaoskit run`` (its live state fed to ``live``)."""
    from chaoskit.model.journal import Journal

    path = base / step.experiment
    argv = [sys.executable, "-m", "chaoskit.cli", "run", str(path), "--out", str(out), "--json", "--quiet"]
    for name, value in step.vars.items():
        argv += ["--var", f"{name}={value if isinstance(value, str) else json.dumps(value)}"]
    env = dict(os.environ)
    fds: tuple[int, ...] = ()
    reader = None
    if live is not None:
        from chaoskit.live import FEED_ENV
        from chaoskit.live.feed import read_feed

        read_end, write_end = os.pipe()
        env[FEED_ENV], fds = str(write_end), (write_end,)
        reader = read_feed(read_end, lambda child: live.put_child(step.experiment, child))
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, pass_fds=fds)
    finally:
        for fd in fds:
            os.close(fd)
    if reader is not None:
        reader.join(timeout=5.0)  # the child's last state (its verdict) reaches the page before the next step
    try:
        verdict = json.loads(done.stdout)
        journal = Journal.model_validate_json(Path(verdict["journal"]).read_bytes()) if verdict["journal"] else None
        outcome = Outcome(verdict["outcome"])
        return RunResult(path, outcome, journal, verdict["reason"], int(verdict["exit_code"]))
    except (ValueError, KeyError, TypeError, OSError):
        reason = f"chaoskit run exited {done.returncode} without a verdict: {done.stderr.strip()[-300:]}"
        return RunResult(path, Outcome.ERROR, None, reason, Outcome.ERROR.exit_code)


def run_plan(
    plan: Plan,
    base: Path,
    options: RunOptions,
    approve: Callable[[str], GateAnswer],
    on_result: Callable[[RunResult], None] = lambda r: None,
    notebook: Notebook | None = None,
    live: LiveState | None = None,
) -> DayResult:
    """Run ``plan`` (paths relative to ``base``). ``approve(question)`` answers a gate (go on?, a note, who);
    ``notebook`` collects the day's notes and gates (shared with the terminal and the live view); ``live``: the
    live view, which also shows a parallel group's experiments (each in its own process)."""
    book = notebook if notebook is not None else Notebook()
    day = DayResult(plan)
    stop = set(plan.stop_when) | {"interrupted"}
    try:
        _steps(plan, base, options, approve, on_result, book, day, stop, live)
    finally:
        day.notes, day.gates = book.notes(), list(book.gates)
        from chaoskit.report.day import GateMark
        from chaoskit.report.index import write_index

        day.index = write_index(
            rows(day.results),
            options.out_dir,
            day.exit_code,
            title=plan.title,
            notes=[(n.at, n.by, n.text) for n in day.notes],
            spans=spans(day.results),
            gates=[GateMark(g.question, g.asked_at, g.answered_at, g.go, g.by) for g in day.gates],
        )
    return day


def _steps(
    plan: Plan,
    base: Path,
    options: RunOptions,
    approve: Callable[[str], GateAnswer],
    on_result: Callable[[RunResult], None],
    book: Notebook,
    day: DayResult,
    stop: set[str],
    live: LiveState | None,
) -> None:
    for i, step in enumerate(plan.steps):
        if isinstance(step, GateStep):
            asked = time.time()
            answer = approve(step.gate)
            book.answered(Gate(f"steps[{i}]", step.gate, asked, time.time(), answer.go, answer.by))
            if answer.note.strip():
                with contextlib.suppress(ValueError):  # too many notes already: the gate's answer still counts
                    book.add(answer.note[:MAX_NOTE], f"gate steps[{i}] ({answer.by})")
            if not answer.go:
                day.stopped = f"steps[{i}]: the gate was not passed ({step.gate}; answered by {answer.by})"
                break
            continue
        group = [step] if isinstance(step, ExperimentStep) else step.parallel
        if len(group) == 1:
            found = [_in_process(group[0], base, options)]
        else:
            if live is not None:
                live.begin_group([s.experiment for s in group])
            with ThreadPoolExecutor(max_workers=len(group)) as pool:
                found = list(pool.map(lambda s: _subprocess(s, base, options.out_dir, live), group))
        for result in found:
            day.results.append(result)
            on_result(result)
        hit = [r for r in found if r.outcome.value in stop]
        if hit:
            day.stopped = f"steps[{i}]: {hit[0].path.name} ended {hit[0].outcome.value} (stop_when)"
            break
