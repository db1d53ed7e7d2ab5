"""Calling the lifecycle hooks (:mod:`chaoskit.hooks`) the pluggy way, under the run's wall.

Each implementation is called on its own, with only the arguments it declares (pluggy allows an implementation
to take a subset of the spec's arguments, e.g. ``def chaoskit_phase_started(self, phase)``). One failing is
recorded through ``on_error`` and never stops the others; with ``fatal`` a :class:`ChaosKitError` is raised
again (run start: a plugin that cannot prepare the system ends the run as ``error``).

**A hung hook cannot hold faults in place.** Called from the runner's thread (``owner``, the thread that runs the
phases: usually the main thread), an implementation runs in a worker thread (:func:`chaoskit.timeouts.start_call`)
and is waited for:

- while the run is under ``safety.max_duration`` (``wall`` set): until the wall. A hook still running then is
  abandoned, recorded as an error, and :class:`~chaoskit.errors.SafetyStop` is raised: the run reverts and ends
  ``aborted``;
- past the wall, or on the way out (``wall`` cleared): :data:`HOOK_GRACE_S` while a fault is still in place
  (``holding()``), else ``safety.revert_timeout`` (``grace``); then it is abandoned and recorded.

Implementations listed in ``inline`` (chaoskit's own trace recorder: memory and a local file, bounded by itself)
and calls from any other thread are made directly: those threads (the monitor, background actions, workers) are
abandoned at the wall anyway, and a thread hand-off per call would cost every activity.

Hooks may be called from other threads than the one that started the run: the monitor thread (probe results
during the method), background actions and worker threads. Implementations must not assume the main thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

import pluggy

from chaoskit.errors import ChaosKitError, HookAbandoned, SafetyStop
from chaoskit.timeouts import Deadline, start_call

HOOK_GRACE_S = 1.0
"""How long a hook called from the runner's thread may take past ``safety.max_duration`` while faults are still
in place (the revert phase starts with a hook); then it is abandoned."""


class Emit(Protocol):
    """What the parts of a run that call hooks need: :meth:`Events.emit`."""

    def __call__(self, hook: str, fatal: bool = False, **kwargs: Any) -> list[Any]: ...


class Events:
    def __init__(
        self,
        manager: pluggy.PluginManager,
        journal: Any,
        on_error: Callable[[str, BaseException], None],
        inline: Collection[object] = (),
        grace: float = 30.0,
    ) -> None:
        self.manager = manager
        self.journal = journal
        self.on_error = on_error
        self.inline = [id(p) for p in inline]
        self._plans: dict[str, list[tuple[Callable[..., Any], Sequence[str], str, bool]]] = {}
        self.grace = grace
        self.wall: Deadline | None = None
        """The run's ``safety.max_duration`` while it applies; ``None`` on the way out (reverts, the verdict)."""
        self.owner: threading.Thread | None = None
        """The thread that runs the phases (set with :attr:`wall`); hooks it calls are bounded."""
        self.holding: Callable[[], bool] = lambda: False
        """Is a fault still in place (hooks past the wall then get only :data:`HOOK_GRACE_S`)?"""

    def emit(self, hook: str, fatal: bool = False, **kwargs: Any) -> list[Any]:
        """Call every implementation of ``hook``; return their results (in pluggy's call order)."""
        plan = self._plans.get(hook)
        if plan is None:
            plan = self._plans[hook] = self._plan(hook)
        if not plan:
            return []
        given = {"journal": self.journal, **kwargs}
        results = []
        main: bool | None = None  # is this the runner's thread? (asked only for a hook that is not inline)
        for function, argnames, where, inline in plan:
            try:
                try:
                    args = [given[name] for name in argnames]
                except KeyError:
                    missing = [name for name in argnames if name not in given]
                    raise TypeError(f"hook {hook} has no argument(s) {', '.join(missing)}") from None
                if not inline and main is None:
                    main = threading.current_thread() is (self.owner or threading.main_thread())
                if inline or not main:
                    results.append(function(*args))
                else:
                    results.append(self._bounded(where, function, args))
            except SafetyStop:
                self.on_error(where, HookAbandoned(f"{where} had not returned at safety.max_duration; abandoned"))
                raise
            except Exception as exc:
                self.on_error(where, exc)
                if fatal and isinstance(exc, ChaosKitError):
                    raise
        return results

    def _plan(self, hook: str) -> list[tuple[Callable[..., Any], Sequence[str], str, bool]]:
        """Each implementation of ``hook``: its function, the arguments it takes, where (for errors), inline?
        Made once per hook: the manager's plugins are all registered before the run starts."""
        return [
            (impl.function, impl.argnames, f"hook {hook} ({impl.plugin_name})", id(impl.plugin) in self.inline)
            for impl in getattr(self.manager.hook, hook).get_hookimpls()
        ]

    def _bounded(self, where: str, function: Callable[..., Any], args: list[Any]) -> Any:
        call = start_call(lambda: function(*args), where)
        wall = self.wall
        left = None if wall is None else wall.remaining()
        if wall is not None and left is not None and left > 0 and not call.wait(left):
            wall.check()  # the wall: SafetyStop (the caller records the hook as abandoned)
        limit = HOOK_GRACE_S if self.holding() else self.grace
        if not call.wait(limit):
            raise HookAbandoned(f"{where} did not return within {limit:g}s; abandoned")
        return call.result(0)


__all__ = ["HOOK_GRACE_S", "Emit", "Events"]
