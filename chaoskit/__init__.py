"""chaoskit: chaos engineering and resilience testing.

The public API is what ``__all__`` lists; everything else is internal. Importing chaoskit starts
nothing, patches nothing and imports no optional heavy dependency.

The names are loaded on first use (PEP 562): pytest imports ``chaoskit.pytest_plugin`` (and so this
package) in every repo where chaoskit is installed, so ``import chaoskit`` must not pull in pydantic,
yaml and the runner until they are needed.

Only an explicit use loads a name (``chaoskit.Experiment``, ``from chaoskit import Experiment``, ``from
chaoskit import *``). Introspection never does: ``dir(chaoskit)`` lists what is loaded so far, not the
lazy names, so tools that walk every loaded module's attributes (freezegun's ``freeze_time``,
``inspect.getmembers``, debuggers, coverage tools) see a small module and import nothing. ``__all__`` is
the list of the public names.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `import chaoskit` stays free of typing (see chaoskit.early)

__version__ = "0.1.0"

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

_WHERE = {
    "ChaosKitError": "chaoskit.errors",
    "PluginError": "chaoskit.errors",
    "ValidationFailed": "chaoskit.errors",
    "Loaded": "chaoskit.loader",
    "load_experiment": "chaoskit.loader",
    "validate_document": "chaoskit.loader",
    "Check": "chaoskit.model",
    "Expect": "chaoskit.model",
    "Experiment": "chaoskit.model",
    "Journal": "chaoskit.model",
    "Observation": "chaoskit.model",
    "Outcome": "chaoskit.model",
    "ProbeSpec": "chaoskit.model",
    "Step": "chaoskit.model",
    "Action": "chaoskit.plugin",
    "Context": "chaoskit.plugin",
    "Fault": "chaoskit.plugin",
    "LoadDriver": "chaoskit.plugin",
    "LoadRun": "chaoskit.plugin",
    "Probe": "chaoskit.plugin",
    "RunOptions": "chaoskit.runner",
    "run_experiment": "chaoskit.runner",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:  # also every probe such as __path__, __wrapped__, __deepcopy__, __reduce_ex__
        raise AttributeError(f"module 'chaoskit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # next time without __getattr__
    return value


# No __dir__: the module's own dir() lists the loaded names only (see the docstring).


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
