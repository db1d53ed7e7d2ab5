"""chaoskit: chaos engineering and resilience testing.

The public API is what ``__all__`` lists; everything else is internal. Importing chaoskit starts
nothing, patches nothing and imports no optional heavy dependency.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported on first use (PEP 562): `import chaoskit` and `chaoskit --help` do not pay for pydantic
# model building, YAML or the runner until something needs them.
_HOME = {
    "chaoskit.errors": ["ChaosKitError", "PluginError", "ValidationFailed"],
    "chaoskit.loader": ["Loaded", "load_experiment", "validate_document"],
    "chaoskit.model": ["Check", "Expect", "Experiment", "Journal", "Observation", "Outcome", "ProbeSpec", "Step"],
    "chaoskit.plugin": ["Action", "Context", "Fault", "LoadDriver", "LoadRun", "Probe"],
    "chaoskit.runner": ["RunOptions", "run_experiment"],
}
_LAZY = {name: module for module, names in _HOME.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'chaoskit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
