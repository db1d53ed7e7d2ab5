"""chaoskit: chaos engineering and resilience testing.

The public API is what ``__all__`` lists; everything else is internal. Importing chaoskit starts
nothing, patches nothing and imports no optional heavy dependency.
"""

from __future__ import annotations

__version__ = "0.1.0"

from chaoskit.errors import ChaosKitError, PluginError, ValidationFailed
from chaoskit.loader import Loaded, load_experiment, validate_document
from chaoskit.model import (
    Check,
    Expect,
    Experiment,
    Journal,
    Observation,
    Outcome,
    ProbeSpec,
    Step,
)
from chaoskit.plugin import Action, Context, Fault, LoadDriver, LoadRun, Probe
from chaoskit.runner import RunOptions, run_experiment

__all__ = [
    "Action",
    "ChaosKitError",
    "Check",
    "Context",
    "Expect",
    "Experiment",
    "Fault",
    "Journal",
    "LoadDriver",
    "LoadRun",
    "Loaded",
    "Observation",
    "Outcome",
    "PluginError",
    "Probe",
    "ProbeSpec",
    "RunOptions",
    "Step",
    "ValidationFailed",
    "__version__",
    "load_experiment",
    "run_experiment",
    "validate_document",
]
