"""What a comparison needs of one run, read once from its journal: a small, versioned, git-friendly summary.

Metrics are flat names, each with a direction (see :func:`worse_when_higher`):

* ``ttr_s`` (steady state), ``load_ttr_s``, ``trace_ttr_s`` -- times to recovery; ``score``;
* ``<window>.error_rate``, ``<window>.p50_ms``, ``<window>.p95_ms``, ``<window>.p99_ms``, ``<window>.rps`` for each
  load window: ``before the fault``, ``fault <name>`` (each fault), ``after the revert``;
* ``misses.<probe>`` -- how many observations of a probe missed their tolerance (all phases).

A summary also keeps the run's load timeline, downsampled to at most 120 points and aligned on the first inject,
so a comparison page can overlay two runs without the raw series.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from chaoskit.errors import ChaosKitError
from chaoskit.model.base import StrictModel
from chaoskit.model.journal import Journal

SCHEMA = "chaoskit.baseline/1"
TIMELINE_POINTS = 120
_LOWER_IS_WORSE = ("score", ".rps")


class NotComparable(ChaosKitError):
    """Two runs (or sets of runs) cannot be compared: different experiments, or data one of them lacks."""

    exit_code = 7


def worse_when_higher(metric: str) -> bool:
    return not metric.endswith(_LOWER_IS_WORSE)


class RunSummary(StrictModel):
    experiment: str = Field(description="The experiment's title: how runs are matched.")
    source: str | None = None
    run_id: str
    started_at: float
    outcome: str
    metrics: dict[str, float | None] = Field(default={})
    timeline: list[tuple[float, float | None, float | None, float | None]] = Field(
        default=[], description="(seconds from the first inject, rps, error rate, p95 ms), downsampled."
    )


class BaselineFile(StrictModel):
    """One experiment's stored runs (``chaoskit baseline save``): the baseline is all of them."""

    schema_: Literal["chaoskit.baseline/1"] = Field(default="chaoskit.baseline/1", alias="schema")
    experiment: str
    runs: list[RunSummary] = Field(default=[])


def summarize(journal: Journal) -> RunSummary:
    from chaoskit.report.facts import collect
    from chaoskit.report.score import score

    facts = collect(journal)
    metrics: dict[str, float | None] = {
        "ttr_s": journal.ttr_s,
        "load_ttr_s": facts.load_ttr_s,
        "trace_ttr_s": journal.traces.ttr_s if journal.traces is not None else None,
        "score": score(facts).value,
    }
    given = {w.name: w for w in journal.load.windows} if journal.load is not None else {}
    seen: dict[str, int] = {}
    for window in facts.windows:
        key = f"fault {window.name}" if window.kind == "fault" else window.name
        seen[key] = seen.get(key, 0) + 1
        key += f" #{seen[key]}" if seen[key] > 1 else ""
        metrics[f"{key}.error_rate"] = window.error_rate
        metrics[f"{key}.p95_ms"] = window.p95_ms
        metrics[f"{key}.rps"] = window.rps
        exact = given.get(f"fault:{window.name}") if window.kind == "fault" else None
        for pct in ("p50_ms", "p99_ms"):
            value = exact.metric(pct) if exact else None
            if value is not None:
                metrics[f"{key}.{pct}"] = value
    for probe in {p.probe for p in facts.probes}:
        metrics[f"misses.{probe}"] = float(sum(p.failed for p in facts.probes if p.probe == probe))
    first = min((w.start for w in facts.faults), default=journal.started_at)
    step = max(1, -(-len(facts.series) // TIMELINE_POINTS))
    timeline = [(round(p.t - first, 1), p.rps, p.error_rate, p.p95_ms) for p in facts.series[::step]]
    return RunSummary(
        experiment=journal.title,
        source=journal.source,
        run_id=journal.run_id,
        started_at=journal.started_at,
        outcome=(journal.outcome.value if journal.outcome else "error"),
        metrics=metrics,
        timeline=timeline,
    )


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "experiment"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ChaosKitError(f"{path}: cannot read it as JSON: {exc}") from None


def load_runs(path: Path) -> list[RunSummary]:
    """Every run summary under ``path``: a journal, a run folder, a baseline file, or a folder of any of these
    (a game day's runs folder, a baseline folder), searched recursively."""
    if path.is_dir():
        if (path / "journal.json").is_file():
            return load_runs(path / "journal.json")
        found: list[RunSummary] = []
        for child in sorted(path.rglob("*.json")):
            if child.name == "journal.json" or child.name.endswith(".baseline.json"):
                found.extend(load_runs(child))
        return found
    data = _read_json(path)
    try:
        if isinstance(data, dict) and data.get("schema") == SCHEMA:
            return list(BaselineFile.model_validate(data).runs)
        if isinstance(data, dict) and str(data.get("schema", "")).startswith("chaoskit.journal/"):
            return [summarize(Journal.model_validate(data))]
    except ValidationError as exc:
        raise ChaosKitError(f"{path}: not a valid chaoskit file: {str(exc).splitlines()[0]}") from None
    raise ChaosKitError(f"{path}: neither a chaoskit journal nor a baseline file ({SCHEMA})")


def by_experiment(runs: list[RunSummary]) -> dict[str, list[RunSummary]]:
    grouped: dict[str, list[RunSummary]] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        grouped.setdefault(run.experiment, []).append(run)
    return grouped


def save_baseline(runs: list[RunSummary], folder: Path, append: bool = False, keep: int = 20) -> list[Path]:
    """One ``<slug>.baseline.json`` per experiment (sorted keys, indented: diffs well in git)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for experiment, group in by_experiment(runs).items():
        path = folder / f"{slug(experiment)}.baseline.json"
        previous = load_runs(path) if append and path.exists() else []
        ids = {r.run_id for r in group}
        kept = ([r for r in previous if r.run_id not in ids] + group)[-keep:]
        text = BaselineFile(experiment=experiment, runs=kept).model_dump_json(by_alias=True, indent=2)
        path.write_text(json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
