"""Lifecycle hooks (pluggy) for extensions: tracing, notifications, custom reporting.

Register an object with these methods under the ``chaoskit.hooks`` entry point group, or pass it
to :func:`chaoskit.run_experiment` (``hooks=[...]``). A hook that raises is recorded on the run's
journal as an error (``where: hook ...``) and shown; it never stops the reverts.

As in pluggy, an implementation may declare only the arguments it uses (``def chaoskit_phase_started(self,
phase)``). Hooks are called from the run's main thread and also from the monitor thread, background actions
and worker threads: an implementation must not assume the main thread. One that does not return is cut by
``safety.max_duration`` and abandoned (see :mod:`chaoskit.run.events`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from chaoskit.model.journal import ActivityRecord, FaultRecord, Journal, ObservationRecord
    from chaoskit.plugin import LoadRun

hookspec = pluggy.HookspecMarker("chaoskit")
hookimpl = pluggy.HookimplMarker("chaoskit")


class HookSpecs:
    @hookspec
    def chaoskit_run_started(self, journal: Journal) -> None:
        """The run starts; ``journal`` is the live journal (read it, do not change it).
        Raising a ChaosKitError (e.g. PluginError) here ends the run as ``error`` before anything is injected."""

    @hookspec
    def chaoskit_run_finished(self, journal: Journal) -> None:
        """The run is over and the outcome is set; called before the journal is written."""

    @hookspec
    def chaoskit_phase_started(self, journal: Journal, phase: str) -> None:
        """A phase starts: warmup, baseline, method, revert, recovery, rollbacks (see ``Phase``)."""

    @hookspec
    def chaoskit_phase_finished(self, journal: Journal, phase: str) -> None:
        """A phase ends (also when it ends by an error)."""

    @hookspec
    def chaoskit_activity_started(self, journal: Journal, kind: str, name: str, phase: str) -> None:
        """A probe, action or fault injection starts (kind: probe, action, fault)."""

    @hookspec
    def chaoskit_activity_finished(
        self, journal: Journal, kind: str, record: ObservationRecord | ActivityRecord | FaultRecord
    ) -> None:
        """A probe, action or fault injection finished; ``record`` is its journal record."""

    @hookspec
    def chaoskit_fault_injected(self, journal: Journal, fault: FaultRecord) -> None:
        """A fault is in place."""

    @hookspec
    def chaoskit_fault_reverted(self, journal: Journal, fault: FaultRecord) -> None:
        """A fault was reverted (``fault.revert_error`` is set when the revert failed)."""

    @hookspec
    def chaoskit_load_started(self, journal: Journal, load: LoadRun) -> None:
        """The load driver runs; ``load.second(t)`` gives its SLIs per second while it goes (live views)."""

    @hookspec
    def chaoskit_waiting(self, journal: Journal, what: str, seconds: float) -> None:
        """The run holds for ``seconds``: a fault's duration or a pause (for countdowns)."""

    @hookspec
    def chaoskit_aborted(self, journal: Journal, reason: str) -> None:
        """A safety condition stopped the run."""

    @hookspec
    def chaoskit_propagation_headers(self, journal: Journal) -> dict[str, str]:  # type: ignore[empty-body]
        """Headers (e.g. ``traceparent``, ``baggage``) that probes and load send to the system under test."""


@functools.cache
def _hook(ep: EntryPoint) -> Any:
    """A hook object registered under ``chaoskit.hooks``, loaded once per process (a game day makes many runs)."""
    return ep.load()


def make_manager(
    extra: list[Any] | None = None, entry_points: bool = True, wanted: Callable[[str], bool] | None = None
) -> pluggy.PluginManager:
    """A hook manager with ``extra`` and (``entry_points``) the ``chaoskit.hooks`` of every installed
    distribution that ``wanted(distribution name)`` accepts (all when it is None); the others stay unimported."""
    pm = pluggy.PluginManager("chaoskit")
    pm.add_hookspecs(HookSpecs)
    if entry_points:
        from chaoskit.entrypoints import distribution, group

        for ep in group("chaoskit.hooks"):
            if pm.get_plugin(ep.name) is not None or (wanted is not None and not wanted(distribution(ep))):
                continue
            plugin = _hook(ep)
            if not pm.is_registered(plugin):
                pm.register(plugin, name=ep.name)
    for plugin in extra or []:
        pm.register(plugin)
    return pm
