"""The resilience score: 100 points, minus what the run showed, each deduction with its reason.

The rules are :data:`RULES` (the report shows them next to the score). Two principles: a deviated run never
scores above a passed run of the same experiment (the outcome sets a band: passed 60-100, deviated or aborted
0-59), and what stays within the experiment's own tolerance costs nothing (errors and latency under load are
judged against the experiment's load tolerances when it has them: a ``load.error_rate`` / ``load.latency``
steady-state probe's ``max``, or the load driver's ``recovery`` tolerance).

The baseline not met gives no score: no fault was injected, so nothing about resilience was learned.
"""

from __future__ import annotations

from typing import Any

from chaoskit.model.journal import Outcome
from chaoskit.model.load import LoadReport
from chaoskit.record import field, record
from chaoskit.report.facts import Facts, Window, tidy

RULES: tuple[tuple[str, str], ...] = (
    ("steady state missed during the fault", "up to 40, in proportion to the failed checks during the method"),
    ("not recovered within recovery.within", "30"),
    ("slow recovery", "up to 10: time to recovery (steady state or load, the longer) / recovery.within"),
    (
        "errors under load during the faults",
        "up to 25: the fault windows' error rate beyond the experiment's own error tolerance (0 without one); "
        "all 25 at 10 points of percentage beyond it",
    ),
    (
        "latency under load during the faults",
        "up to 15: the fault windows' p95 beyond the experiment's own p95 tolerance (nothing within it); "
        "without one, beyond 1.5x the p95 before the fault; all 15 at 5x",
    ),
    ("outcome", "passed: the score stays within 60-100; deviated or aborted: within 0-59 (aborted also loses 20)"),
    ("a revert or the run itself failed", "the score is 0 (nothing to judge, or something left behind)"),
    ("baseline not met, dry run, interrupted", "no score"),
)
"""Every rule of the score, in words (what, points). The report shows this table."""

PASSED_FLOOR = 60
NOT_PASSED_CAP = 59


@record(frozen=True)
class Deduction:
    points: int
    what: str
    why: str


@record
class Score:
    value: int | None
    deductions: list[Deduction] = field(default_factory=list)
    note: str = ""


def _fault_load(facts: Facts) -> list[Window]:
    return [w for w in facts.windows if w.kind == "fault" and w.requests]


def score(facts: Facts) -> Score:
    j = facts.journal
    if j.outcome in (Outcome.BASELINE_NOT_MET, Outcome.INVALID):
        return Score(None, note="no score: the steady state did not hold before any fault, so nothing was injected")
    if j.dry_run:
        return Score(None, note="no score: a dry run injects nothing")
    if j.outcome == Outcome.INTERRUPTED:
        return Score(None, note="no score: the run was interrupted")
    if any(f.revert_error for f in j.faults):
        return Score(0, [Deduction(100, "revert failed", "a fault may still be in place; run `chaoskit rollback`")])
    if j.outcome == Outcome.ERROR:
        return Score(0, [Deduction(100, "run failed", j.reason or "error")])
    out: list[Deduction] = []
    during = [o for o in j.observations if o.phase == "method" and o.ok is not None]
    missed = [o for o in during if o.ok is False]
    if missed:
        pts = max(1, round(40 * len(missed) / len(during)))
        example = tidy(f"{missed[0].probe}: {missed[0].reason}", most=1)
        out.append(
            Deduction(
                pts,
                "steady state missed during the fault",
                f"{len(missed)} of {len(during)} checks failed, e.g. {example}",
            )
        )
    within = j.experiment.get("recovery", {}).get("within", 30.0) if isinstance(j.experiment, dict) else 30.0
    if j.phase("recovery") is not None and j.ttr_s is None:
        out.append(Deduction(30, "not recovered", f"the steady state did not hold again within {within:g}s"))
    elif j.ttr_s is not None and isinstance(within, int | float) and within > 0:
        ttr, what = j.ttr_s, "the steady state"
        if facts.load_ttr_s is not None and facts.load_ttr_s > ttr:
            ttr, what = facts.load_ttr_s, "the load"
        pts = min(10, round(10 * ttr / within))
        if pts:
            out.append(
                Deduction(pts, "slow recovery", f"{what} took {ttr:.3g}s to recover, of the {within:g}s allowed")
            )
    faults = _fault_load(facts)
    if faults:
        out.extend(_load_deductions(facts, faults))
    if j.outcome == Outcome.DEVIATED and not out:
        out.append(Deduction(30, "hypothesis broken", j.reason or "the steady state deviated"))
    if j.outcome == Outcome.ABORTED:
        out.append(Deduction(20, "aborted by a safety condition", j.reason))
    value = max(0, 100 - sum(d.points for d in out))
    note = ""
    if j.outcome == Outcome.PASSED and value < PASSED_FLOOR:
        value, note = PASSED_FLOOR, f"a passed run scores at least {PASSED_FLOOR}"
    elif j.outcome != Outcome.PASSED and value > NOT_PASSED_CAP:
        value, note = NOT_PASSED_CAP, f"a run that did not pass scores at most {NOT_PASSED_CAP}"
    return Score(value, out, note)


def _load_deductions(facts: Facts, faults: list[Window]) -> list[Deduction]:
    out: list[Deduction] = []
    error_tol, p95_tol = tolerances(facts.journal.experiment, facts.journal.load)
    requests = sum(w.requests or 0 for w in faults)
    failed = sum((w.requests or 0) * (w.error_rate or 0.0) for w in faults)
    rate = failed / requests if requests else 0.0
    beyond = rate - (error_tol or 0.0)
    pts = min(25, round(25 * beyond / 0.10)) if beyond > 0 else 0
    if pts:
        allowed = f" (your tolerance: {error_tol * 100:.3g}%)" if error_tol else ""
        why = f"{rate * 100:.1f}% of {requests} requests failed during the fault window(s){allowed}"
        out.append(Deduction(pts, "errors under load", why))
    worst = max((w.p95_ms for w in faults if w.p95_ms is not None), default=None)
    base = facts.before
    if worst is not None and p95_tol is not None:
        if worst > p95_tol:
            ratio = worst / p95_tol
            pts = min(15, max(1, round(15 * (ratio - 1) / 4)))
            why = f"p95 {worst:.0f} ms during the fault, over your tolerance of {p95_tol:.0f} ms ({ratio:.1f}x)"
            out.append(Deduction(pts, "slower under load", why))
    elif worst is not None and base is not None and base.p95_ms and worst > 1.5 * base.p95_ms:
        ratio = worst / base.p95_ms
        pts = min(15, round(15 * (ratio - 1) / 4))
        if pts:
            why = f"p95 {worst:.0f} ms during the fault vs {base.p95_ms:.0f} ms before it ({ratio:.1f}x)"
            why += "; the experiment sets no p95 tolerance"
            out.append(Deduction(pts, "slower under load", why))
    return out


def _max_of(probe: Any, name: str) -> float | None:
    if not isinstance(probe, dict) or probe.get("probe") != name:
        return None
    params = probe.get("with") or {}
    if name == "load.latency" and isinstance(params, dict) and params.get("percentile", 95) != 95:
        return None
    expect = probe.get("expect") or {}
    value = expect.get("max") if isinstance(expect, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def tolerances(experiment: Any, load: LoadReport | None) -> tuple[float | None, float | None]:
    """The experiment's own error-rate and p95 tolerances for the load: the loosest ``max`` of its steady-state
    ``load.error_rate`` / ``load.latency`` (p95) probes, else the load driver's recovery tolerance."""
    probes = ((experiment or {}).get("steady_state") or {}).get("probes") or [] if isinstance(experiment, dict) else []
    errors = [v for v in (_max_of(p, "load.error_rate") for p in probes) if v is not None]
    p95s = [v for v in (_max_of(p, "load.latency") for p in probes) if v is not None]
    rec = load.recovery.tolerance if load is not None and load.recovery is not None else {}
    if not errors and isinstance(error_max := rec.get("error_rate_max"), int | float):
        errors = [float(error_max)]
    if not p95s and isinstance(p95_max := rec.get("latency_ms_max"), int | float) and rec.get("percentile", 95) == 95:
        p95s = [float(p95_max)]
    return max(errors, default=None), max(p95s, default=None)
