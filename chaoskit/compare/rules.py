"""When a current run is a regression against its baseline: the rule, in one place.

A metric regresses when the current value is worse than the baseline's mean (higher for times, error rates and
latencies; lower for ``rps`` and ``score``) by more than **every** margin that applies:

* ``relative`` -- a share of the baseline mean (0.25 = 25 %);
* ``absolute`` -- in the metric's unit (seconds, a rate 0..1, ms, requests/s, points);
* the **noise band** -- ``noise`` standard deviations of the baseline runs (``chaoskit run --repeat N`` records N
  runs; with one baseline run there is no noise estimate and the band is 0).

A baseline that recovered and a current run that did not (a TTR that became None) is a regression; an outcome
that was ``passed`` and is not any more is one too. Confidence says how far beyond the band it is: ``high`` (3 or
more baseline runs and at least 3 standard deviations), ``medium`` (2 or more runs, at least 2 standard deviations),
else ``low``. Thresholds come from, later ones winning: the defaults below, the experiment's ``regression:`` block,
a ``--config`` file (the same shape, optionally under the experiment's title), and ``--threshold`` flags.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from chaoskit.compare.summary import NotComparable, RunSummary, worse_when_higher
from chaoskit.errors import ChaosKitError
from chaoskit.model.regression import Regression, Threshold

FAMILIES: dict[str, Threshold] = {
    "ttr_s": Threshold(relative=0.5, absolute=1.0),
    "load_ttr_s": Threshold(relative=0.5, absolute=1.0),
    "trace_ttr_s": Threshold(relative=0.5, absolute=1.0),
    "score": Threshold(absolute=10),
    "error_rate": Threshold(absolute=0.02),
    "p50_ms": Threshold(relative=0.25, absolute=20),
    "p95_ms": Threshold(relative=0.25, absolute=20),
    "p99_ms": Threshold(relative=0.5, absolute=50),
    "rps": Threshold(relative=0.2, absolute=1),
    "misses": Threshold(absolute=1),
}


def family(metric: str) -> str:
    head = metric.split(".", 1)[0]
    return head if head in ("misses",) else metric.rsplit(".", 1)[-1]


def parse_flag(text: str) -> tuple[str, Threshold]:
    """``p95_ms=25%`` (relative), ``error_rate=0.02`` (absolute), ``ttr_s=50%,2`` (both)."""
    name, sep, value = text.partition("=")
    if not sep or name not in FAMILIES:
        raise ChaosKitError(f"--threshold {text!r}: expected FAMILY=VALUE with FAMILY one of {', '.join(FAMILIES)}")
    relative = absolute = None
    for part in value.split(","):
        part = part.strip()
        try:
            if part.endswith("%"):
                relative = float(part[:-1]) / 100
            else:
                absolute = float(part)
        except ValueError:
            raise ChaosKitError(f"--threshold {text!r}: {part!r} is not a number (or a percentage)") from None
    try:
        return name, Threshold(relative=relative, absolute=absolute)
    except ValidationError as exc:
        raise ChaosKitError(f"--threshold {text!r}: {exc.errors()[0]['msg']}") from None


def resolve(layers: list[Mapping[str, Any] | None]) -> Regression:
    """Merge ``regression:`` blocks (dicts), later ones winning per family; unknown families are errors."""
    merged: dict[str, Any] = {"thresholds": {}}
    for layer in layers:
        if not layer:
            continue
        merged["thresholds"].update(layer.get("thresholds") or {})
        if "noise" in layer:
            merged["noise"] = layer["noise"]
    try:
        return Regression.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ChaosKitError(f"regression.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


@dataclass(frozen=True)
class Finding:
    metric: str
    baseline: float | None
    current: float | None
    spread: float | None
    runs: int
    regression: bool
    confidence: str
    why: str

    @property
    def delta(self) -> float | None:
        return None if self.baseline is None or self.current is None else self.current - self.baseline


def judge(metric: str, base: list[float | None], current: float | None, rules: Regression) -> Finding | None:
    values = [v for v in base if v is not None and math.isfinite(v)]
    if not values and current is None:
        return None
    rule = rules.thresholds.get(family(metric)) or FAMILIES[family(metric)]
    if not values:
        return Finding(metric, None, current, None, len(base), False, "low", "no baseline value")
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) >= 2 else None
    if current is None:
        recovered_before = metric.endswith("ttr_s")
        why = "recovered in the baseline, not now" if recovered_before else "no value now"
        return Finding(metric, mean, None, spread, len(values), recovered_before, _confidence(len(values), None), why)
    worse = (current - mean) if worse_when_higher(metric) else (mean - current)
    margins = {"noise band": rules.noise * (spread or 0.0)}
    if rule.relative is not None:
        margins["relative"] = rule.relative * abs(mean)
    if rule.absolute is not None:
        margins["absolute"] = rule.absolute
    limit = max(margins.values())
    regression = worse > limit
    sigmas = worse / spread if spread else None
    binding = max(margins, key=lambda k: margins[k])
    why = f"worse by {worse:.4g} > {binding} {limit:.4g}" if regression else f"within {binding} {limit:.4g}"
    confidence = _confidence(len(values), sigmas) if regression else "-"
    return Finding(metric, mean, current, spread, len(values), regression, confidence, why)


def _confidence(runs: int, sigmas: float | None) -> str:
    if sigmas is not None and runs >= 3 and sigmas >= 3:
        return "high"
    if sigmas is not None and runs >= 2 and sigmas >= 2:
        return "medium"
    return "low"


@dataclass(frozen=True)
class Comparison:
    experiment: str
    baseline: list[RunSummary]
    current: RunSummary
    findings: list[Finding]
    outcome_regressed: bool
    problem: str = ""

    @property
    def regressed(self) -> bool:
        return self.outcome_regressed or any(f.regression for f in self.findings)


def compare_runs(base: list[RunSummary], current: RunSummary, rules: Regression) -> Comparison:
    """``current`` against every run of its baseline (same experiment)."""
    if not base:
        raise NotComparable(f"{current.experiment!r}: no baseline run of this experiment")
    missing = sorted(
        m
        for m in {
            m for r in base for m, v in r.metrics.items() if v is not None and "." in m and not m.startswith("misses.")
        }
        if m not in current.metrics
    )
    findings = [
        f
        for metric in sorted({m for r in base for m in r.metrics} | set(current.metrics))
        if (f := judge(metric, [r.metrics.get(metric) for r in base], current.metrics.get(metric), rules)) is not None
    ]
    outcome_regressed = any(r.outcome == "passed" for r in base) and current.outcome != "passed"
    problem = f"windows missing in the current run: {', '.join(missing)}" if missing else ""
    return Comparison(current.experiment, base, current, findings, outcome_regressed, problem)
