"""Calling the lifecycle hooks (:mod:`chaoskit.hooks`) the pluggy way.

Each implementation is called on its own, with only the arguments it declares (pluggy allows an implementation
to take a subset of the spec's arguments, e.g. ``def chaoskit_phase_started(self, phase)``). One failing is
recorded through ``on_error`` and never stops the others; with ``fatal`` a :class:`ChaosKitError` is raised
again (run start: a plugin that cannot prepare the system ends the run as ``error``).

Hooks may be called from other threads than the one that started the run: the monitor thread (probe results
during the method), background actions and worker threads. Implementations must not assume the main thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pluggy

from chaoskit.errors import ChaosKitError


class Emit(Protocol):
    """What the parts of a run that call hooks need: :meth:`Events.emit`."""

    def __call__(self, hook: str, fatal: bool = False, **kwargs: Any) -> list[Any]: ...


class Events:
    def __init__(
        self, manager: pluggy.PluginManager, journal: Any, on_error: Callable[[str, BaseException], None]
    ) -> None:
        self.manager = manager
        self.journal = journal
        self.on_error = on_error

    def emit(self, hook: str, fatal: bool = False, **kwargs: Any) -> list[Any]:
        """Call every implementation of ``hook``; return their results (in pluggy's call order)."""
        given = {"journal": self.journal, **kwargs}
        results = []
        for impl in getattr(self.manager.hook, hook).get_hookimpls():
            try:
                missing = [name for name in impl.argnames if name not in given]
                if missing:
                    raise TypeError(f"hook {hook} has no argument(s) {', '.join(missing)}")
                results.append(impl.function(*(given[name] for name in impl.argnames)))
            except Exception as exc:
                self.on_error(f"hook {hook} ({impl.plugin_name})", exc)
                if fatal and isinstance(exc, ChaosKitError):
                    raise
        return results
