"""What the steps (:mod:`chaoskit.activities`) may use of the run: a narrow interface instead of the whole
``Runner``, so the lower module does not import the higher one (no import circle)."""

from __future__ import annotations

import threading
from typing import Any, Protocol

from chaoskit.ledger import Ledger
from chaoskit.loader import Loaded
from chaoskit.model.experiment import Experiment
from chaoskit.model.journal import Journal
from chaoskit.plugin import Context
from chaoskit.registry import Registry
from chaoskit.run.state import RunState
from chaoskit.signals import SignalGuard
from chaoskit.timeouts import Deadline


class RunView(Protocol):
    exp: Experiment
    loaded: Loaded
    registry: Registry
    ctx: Context
    journal: Journal
    ledger: Ledger
    guard: SignalGuard
    deadline: Deadline
    abort: threading.Event
    state: RunState

    def emit(self, hook: str, fatal: bool = False, **kwargs: Any) -> list[Any]: ...

    def record_error(self, where: str, exc: BaseException) -> None: ...

    def redact(self, text: str) -> str: ...

    def check_abort(self) -> None: ...

    def request_abort(self, reason: str) -> None: ...

    def ensure_guardian(self) -> None: ...
