"""What the steps (:mod:`chaoskit.run.steps`) may use of the run: a narrow interface instead of the whole
``Runner``, so the lower module does not import the higher one (no import circle)."""

from __future__ import annotations

from typing import Any, Protocol

from chaoskit.loader import Loaded
from chaoskit.model.experiment import Experiment
from chaoskit.plugin import Context
from chaoskit.registry import Registry
from chaoskit.run.state import RunState
from chaoskit.timeouts import Deadline


class RunView(Protocol):
    exp: Experiment
    loaded: Loaded
    registry: Registry
    ctx: Context
    state: RunState
    deadline: Deadline

    def emit(self, hook: str, fatal: bool = False, **kwargs: Any) -> list[Any]: ...

    def check_abort(self) -> None:
        """Raise if the run was asked to stop (abort, halt) or reached ``safety.max_duration``."""

    def ensure_guardian(self) -> None:
        """Make sure the dead-man guardian is up (before a fault's first inject)."""
