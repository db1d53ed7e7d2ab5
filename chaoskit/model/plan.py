"""A game-day plan (``chaoskit gameday PLAN.yaml``): experiments in order, groups that run side by side, manual
gates, and the outcomes that stop the day."""

from typing import Any, Literal

from pydantic import Field

from chaoskit.model.base import StrictModel

StopOutcome = Literal["deviated", "baseline-not-met", "aborted", "error", "invalid", "interrupted"]
DEFAULT_STOP: tuple[StopOutcome, ...] = ("aborted", "error", "invalid", "interrupted")


class ExperimentStep(StrictModel):
    experiment: str = Field(description="An experiment file, relative to the plan.")
    vars: dict[str, Any] = Field(default={}, description="Configuration values (like --var).")


class ParallelStep(StrictModel):
    parallel: list[ExperimentStep] = Field(min_length=2, max_length=16, description="Run side by side.")


class GateStep(StrictModel):
    gate: str = Field(min_length=1, description="A question; the day goes on only once someone says yes.")


class Plan(StrictModel):
    title: str = Field(min_length=1)
    steps: list[ExperimentStep | ParallelStep | GateStep] = Field(min_length=1, max_length=500)
    stop_when: list[StopOutcome] = Field(
        default_factory=lambda: list(DEFAULT_STOP),
        description="An experiment ending with one of these outcomes stops the day (interrupted always does).",
    )
