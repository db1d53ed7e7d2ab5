"""Outcomes, their exit codes, their one severity order, and the one function that decides a run's outcome.

The phases of a run do not set the outcome; they report what happened into an :class:`Ending` (how the run was
stopped, if it was; the baseline; deviations; recovery; failed rollbacks, load or reverts), and :func:`decide`
turns that into the outcome and its reason, with the precedence written once, here. The several-runs rule
(:func:`worst`) uses the same :data:`SEVERITY` order.
"""

from enum import StrEnum

from chaoskit.record import field, record


class Outcome(StrEnum):
    PASSED = "passed"
    DRY_RUN = "dry-run"
    """``run --dry-run`` with no problem: validated, targets resolved, nothing injected (exit 0, never "passed")."""
    DEVIATED = "deviated"
    BASELINE_NOT_MET = "baseline-not-met"
    ABORTED = "aborted"
    ERROR = "error"
    INVALID = "invalid"
    INTERRUPTED = "interrupted"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]


EXIT_CODES: dict[Outcome, int] = {
    Outcome.PASSED: 0,
    Outcome.DRY_RUN: 0,
    Outcome.DEVIATED: 1,
    Outcome.BASELINE_NOT_MET: 2,
    Outcome.ABORTED: 3,
    Outcome.ERROR: 4,
    Outcome.INVALID: 5,
    Outcome.INTERRUPTED: 130,
}

SEVERITY: tuple[Outcome, ...] = (
    Outcome.INTERRUPTED,
    Outcome.ERROR,
    Outcome.INVALID,
    Outcome.ABORTED,
    Outcome.DEVIATED,
    Outcome.BASELINE_NOT_MET,
    Outcome.DRY_RUN,
    Outcome.PASSED,
)
"""Most severe first: a game day's exit code is that of its most severe run."""


def worst(outcomes: list[Outcome]) -> Outcome:
    """The most severe of several outcomes (PASSED for none)."""
    return next((o for o in SEVERITY if o in outcomes), Outcome.PASSED)


PREFLIGHT_FAILED = 6
"""Exit code of ``run --dry-run`` / ``validate --preflight`` problems (their outcome is ``invalid``)."""


def worst_exit_code(codes: list[int]) -> int:
    """The same rule over exit codes (a Chaos Toolkit run reports CTK's own code, 0 or 1; a preflight problem
    6, ranked just after invalid)."""
    order = [o.exit_code for o in SEVERITY]
    order.insert(order.index(Outcome.INVALID.exit_code) + 1, PREFLIGHT_FAILED)
    return next((code for code in order if code in codes), 0)


@record
class Ending:
    """What a run's phases reported, for :func:`decide`."""

    stopped: tuple[Outcome, str] | None = None
    """The run was cut short (interrupted, aborted, or an error): the outcome and why."""
    dry_run: bool = False
    baseline_missed: str | None = None
    deviations: list[str] = field(default_factory=list)
    recovered: bool = True
    ttr_s: float | None = None
    notes: list[str] = field(default_factory=list)
    """Added to the reason of a finished run (e.g. method steps that failed with ``on_error: continue``)."""
    rollback_failed: str | None = None
    load_failed: str | None = None
    revert_failed: list[str] = field(default_factory=list)
    """Names of the faults whose revert failed."""
    ledger: str = ""
    ignored_signals: list[str] = field(default_factory=list)


def decide(ending: Ending) -> tuple[Outcome, str]:
    """The outcome and reason of a run. Precedence, highest first:

    1. a failed revert (error: something may be left behind; the reason says how to undo it);
    2. how the run was cut short (interrupted, aborted, error);
    3. a dry run (dry-run, exit 0: never reported as passed); 4. the baseline not met; 5. a failed rollback (error);
    6. deviations or no recovery (deviated); 7. a failed load driver (error, only when all else passed);
    8. passed.
    """
    outcome, reason = _decide(ending)
    if ending.revert_failed:
        names = ", ".join(ending.revert_failed)
        outcome, reason = (
            Outcome.ERROR,
            f"revert failed for {names}; run `chaoskit rollback` (ledger {ending.ledger}) -- {reason}",
        )
    if ending.ignored_signals:
        reason += f" (signals received while reverting, ignored: {', '.join(ending.ignored_signals)})"
    return outcome, reason


def _decide(ending: Ending) -> tuple[Outcome, str]:
    if ending.stopped is not None:
        return ending.stopped
    if ending.dry_run:
        return Outcome.DRY_RUN, "dry run: validated and resolved; nothing was injected"
    if ending.baseline_missed is not None:
        return Outcome.BASELINE_NOT_MET, f"steady state not met before any fault: {ending.baseline_missed}"
    if ending.rollback_failed is not None:
        return Outcome.ERROR, ending.rollback_failed
    if ending.deviations or not ending.recovered:
        return Outcome.DEVIATED, "; ".join([*ending.deviations, *ending.notes])
    if ending.load_failed is not None:
        return Outcome.ERROR, ending.load_failed
    ttr = ending.ttr_s
    held = "steady state held" + (f"; recovered in {ttr:.3g}s" if ttr is not None else "")
    return Outcome.PASSED, "; ".join([held, *ending.notes])
