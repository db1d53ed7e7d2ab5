"""The resilience score: 100 points, minus what the run showed, each deduction with its reason.

=====================================  ============================================================
what                                   points lost
=====================================  ============================================================
steady state missed during the fault   up to 40, in proportion to the failed checks during the method
not recovered within recovery.within   30
slow recovery                          up to 10: TTR (steady state or load, the longer) / recovery.within
errors under load during faults        up to 25: the fault windows' error rate (25 at >= 10 %)
latency under load during faults       up to 15: fault-window p95 over the baseline's (15 at >= 5x)
a revert or the run itself failed      the score is 0 (nothing to judge, or something left behind)
=====================================  ============================================================

The baseline not met gives no score: no fault was injected, so nothing about resilience was learned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaoskit.model.journal import Outcome
from chaoskit.report.facts import Facts, Window, tidy


@dataclass(frozen=True)
class Deduction:
    points: int
    what: str
    why: str


@dataclass
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
        requests = sum(w.requests or 0 for w in faults)
        failed = sum((w.requests or 0) * (w.error_rate or 0.0) for w in faults)
        rate = failed / requests if requests else 0.0
        pts = min(25, round(25 * rate / 0.10))
        if pts:
            out.append(
                Deduction(
                    pts,
                    "errors under load",
                    f"{rate * 100:.1f}% of {requests} requests failed during the fault window(s)",
                )
            )
        base = facts.before
        worst = max((w.p95_ms for w in faults if w.p95_ms is not None), default=None)
        if base is not None and base.p95_ms and worst is not None and worst > 1.5 * base.p95_ms:
            ratio = worst / base.p95_ms
            pts = min(15, round(15 * (ratio - 1) / 4))
            if pts:
                out.append(
                    Deduction(
                        pts,
                        "slower under load",
                        f"p95 {worst:.0f} ms during the fault vs {base.p95_ms:.0f} ms before it ({ratio:.1f}x)",
                    )
                )
    if j.outcome == Outcome.DEVIATED and not out:
        out.append(Deduction(30, "hypothesis broken", j.reason or "the steady state deviated"))
    if j.outcome == Outcome.ABORTED:
        out.append(Deduction(20, "aborted by a safety condition", j.reason))
    return Score(max(0, 100 - sum(d.points for d in out)), out)
