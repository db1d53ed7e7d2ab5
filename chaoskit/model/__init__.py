"""Pydantic models of chaoskit: the experiment format, tolerances and the journal."""

from chaoskit.model.experiment import (
    Experiment,
    ProbeSpec,
    Recovery,
    Safety,
    SteadyState,
    Step,
    TracingSpec,
)
from chaoskit.model.journal import Journal, Outcome
from chaoskit.model.tolerance import Check, Expect, Observation, Verdict

__all__ = [
    "Check",
    "Expect",
    "Experiment",
    "Journal",
    "Observation",
    "Outcome",
    "ProbeSpec",
    "Recovery",
    "Safety",
    "SteadyState",
    "Step",
    "TracingSpec",
    "Verdict",
]
