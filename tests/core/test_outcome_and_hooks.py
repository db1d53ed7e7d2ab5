"""The one outcome decision (its precedence, and the severity order shared with several runs), and hooks called
the pluggy way (an implementation declaring only some of the spec's arguments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaoskit.hooks import hookimpl
from chaoskit.model.journal import Outcome, Phase
from chaoskit.model.outcome import SEVERITY, Ending, decide, worst, worst_exit_code
from tests.core.test_runner import marker, run


def test_precedence_of_the_outcome_decision() -> None:
    assert decide(Ending()) == (Outcome.PASSED, "steady state held")
    assert decide(Ending(ttr_s=1.25, notes=["step x failed"])) == (
        Outcome.PASSED,
        "steady state held; recovered in 1.25s; step x failed",
    )
    assert decide(Ending(deviations=["a"], load_failed="load broke")) == (Outcome.DEVIATED, "a")
    assert decide(Ending(load_failed="load broke")) == (Outcome.ERROR, "load broke")
    assert decide(Ending(deviations=["a"], rollback_failed="rb")) == (Outcome.ERROR, "rb")
    assert decide(Ending(baseline_missed="down", rollback_failed="rb"))[0] == Outcome.BASELINE_NOT_MET
    assert decide(Ending(recovered=False, deviations=["not recovered"]))[0] == Outcome.DEVIATED
    stopped = Ending(stopped=(Outcome.INTERRUPTED, "interrupted by SIGTERM"), baseline_missed="x", deviations=["d"])
    assert decide(stopped) == (Outcome.INTERRUPTED, "interrupted by SIGTERM")
    failed = Ending(
        stopped=(Outcome.ABORTED, "halted: x"), revert_failed=["f1"], ledger="L", ignored_signals=["SIGINT"]
    )
    assert decide(failed) == (
        Outcome.ERROR,
        "revert failed for f1; run `chaoskit rollback` (ledger L) -- halted: x "
        "(signals received while reverting, ignored: SIGINT)",
    )


def test_one_severity_order_for_outcomes_and_exit_codes() -> None:
    assert worst([Outcome.PASSED, Outcome.DEVIATED, Outcome.ABORTED]) == Outcome.ABORTED
    assert worst([]) == Outcome.PASSED
    for i, outcome in enumerate(SEVERITY):
        milder = [o.exit_code for o in SEVERITY[i:]]
        assert worst_exit_code(milder) == outcome.exit_code
    assert set(SEVERITY) == set(Outcome)


class PhasesOnly:
    """Declares only ``phase`` (not ``journal``), as pluggy allows."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def chaoskit_phase_started(self, phase: str) -> None:
        self.seen.append(phase)

    @hookimpl
    def chaoskit_fault_injected(self, fault: Any) -> None:
        self.seen.append(f"injected {fault.name}")

    @hookimpl
    def chaoskit_run_finished(self) -> None:
        self.seen.append("finished")


def test_a_hook_declaring_a_subset_of_the_arguments_is_called_with_those(tmp_path: Path) -> None:
    hooks = PhasesOnly()
    journal = run(tmp_path, {"title": "subset", "method": [marker(duration="100ms")]}, hooks=[hooks])
    assert journal.outcome == Outcome.PASSED, journal.reason
    assert not journal.errors  # no "unexpected keyword argument 'journal'"
    assert hooks.seen == [Phase.METHOD, "injected testkit.marker", Phase.REVERT, "finished"]
