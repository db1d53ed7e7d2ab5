"""The plugin API. First-party plugins use it exactly as third parties do.

A plugin is a class registered under an entry point group:

=====================  ==========================================================
group                  base class
=====================  ==========================================================
``chaoskit.probes``    :class:`Probe` -- observes, returns an :class:`Observation`
``chaoskit.actions``   :class:`Action` -- does something that needs no revert
``chaoskit.faults``    :class:`Fault` -- injects something that must be reverted
``chaoskit.load``      :class:`LoadDriver` -- drives load for the whole run
``chaoskit.sections``  a pydantic model for a top-level block (e.g. ``toxiproxy:``)
``chaoskit.hooks``     an object with pluggy hook implementations
=====================  ==========================================================

Every plugin declares ``Params``, a pydantic model (subclass :class:`chaoskit.model.base.StrictModel`)
that validates its ``with:`` block.

Faults work in three calls so nothing can be left behind:

1. ``plan(params, ctx)`` resolves targets and returns the *revert info*: a JSON-able dict holding
   everything ``revert`` needs. It has no side effects (``--dry-run`` stops here and shows it).
2. The runner writes the revert info to the ledger on disk (fsync'd), then calls
   ``inject(params, info, ctx)``. It may return an updated info dict (for instance the pids it
   actually killed); the ledger is updated.
3. ``revert(info, ctx)`` undoes exactly what was injected. It must be idempotent and must work
   from the info alone: ``chaoskit rollback`` calls it in a fresh process after the runner was killed,
   also when ``inject`` was cut short halfway.

Before a run, ``preflight(params, ctx)`` (any plugin; default: nothing to check) reports without side effects
what the real run would trip over -- a missing file, an unreachable server, an unknown target, a denied
permission -- so ``chaoskit validate --preflight`` and ``chaoskit run --dry-run`` catch it (exit 6).
"""

from __future__ import annotations

import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from chaoskit.model.base import StrictModel
from chaoskit.model.load import LoadReport
from chaoskit.model.tolerance import Observation

P = TypeVar("P", bound=BaseModel)
S = TypeVar("S", bound=BaseModel)


class NoParams(StrictModel):
    """For plugins that take no parameters."""


@dataclass
class Context:
    """What a plugin may use while it runs. Built by the runner (and by ``chaoskit rollback``)."""

    run_id: str = "adhoc"
    dry_run: bool = False
    configuration: Mapping[str, Any] = field(default_factory=dict)
    sections: Mapping[str, BaseModel] = field(default_factory=dict)
    work_dir: Path = field(default_factory=Path.cwd)
    load: LoadRun | None = None
    log: Callable[[str], None] = lambda message: None
    headers: Callable[[], dict[str, str]] = dict
    """Trace-context headers (``traceparent``, ``baggage``) to send with requests to the system under test."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set when the run stops early (signal, abort, halt, timeout) while an ``inject`` may still be running:
    a long inject should check it between steps and return (or raise) early; its revert follows."""
    timeout: float | None = None
    """Seconds the runner gives the current ``plan``/``inject`` call (the step's ``timeout``); None when unknown.
    A plugin whose work grows with its targets can refuse at plan time a timeout too short for them."""
    observed_since: float | None = None
    """Wall-clock time (epoch s) of the last fault revert, once every fault is reverted (None before). Probes
    that judge history (e.g. ``load.*`` over ``last: 5s``) use only data taken after it, so recovery is never
    judged on samples from the fault window; load drivers keep the load up until their recovery hold can
    complete after it."""

    def section(self, name: str, model: type[S]) -> S:
        """The validated top-level block ``name`` of the experiment, or its defaults when absent."""
        value = self.sections.get(name)
        if value is None:
            return model()
        if not isinstance(value, model):
            raise TypeError(f"section {name!r} is a {type(value).__name__}, not {model.__name__}")
        return value


class Plugin(ABC, Generic[P]):
    """Common base: a name (the entry point's name, set by the registry) and a params model."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    internal: ClassVar[bool] = False
    """True for a plugin other plugins use (e.g. the fault behind a section): ``chaoskit list``, the schema and
    the docs leave it out. It still works when named in an experiment."""

    def preflight(self, params: P, ctx: Context) -> list[str]:
        """Check, without side effects, what this plugin will need when it runs (``plan``, ``observe``,
        ``start``...): files exist, servers answer, named targets exist, permissions are granted. Return every
        problem found (plain sentences naming what is missing; the caller adds the step's path), [] when ready.
        Run by ``chaoskit validate --preflight`` and ``chaoskit run --dry-run``, each call under a timeout.
        The default checks nothing."""
        return []

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


class Probe(Plugin[P]):
    tolerance_hint: ClassVar[str | None] = None
    """When set, the probe's value alone does not say what a check means (an http probe's value is its status
    code, which a ``regex`` would silently match): an ``expect`` must name its target, and a bare check
    (equals, min, max, one_of, regex without jsonpath) is invalid with this text as the hint."""

    @abstractmethod
    def observe(self, params: P, ctx: Context) -> Observation:
        """Observe once. Raise :class:`chaoskit.errors.PluginError` when the observation itself fails."""


class Action(Plugin[P]):
    @abstractmethod
    def run(self, params: P, ctx: Context) -> Any:
        """Do it; return a JSON-able result for the journal."""


class Fault(Plugin[P]):
    @abstractmethod
    def plan(self, params: P, ctx: Context) -> dict[str, Any]:
        """Resolve targets; return the revert info (JSON-able). No side effects."""

    @abstractmethod
    def inject(self, params: P, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        """Inject the fault. Return an updated revert info, or None to keep it."""

    @abstractmethod
    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        """Undo exactly what was injected. Idempotent; works from ``info`` alone."""

    def describe(self, info: dict[str, Any]) -> str:
        """One line for ``--dry-run`` and progress: what would be touched."""
        return ", ".join(f"{k}={v}" for k, v in info.items())


class RunNumbers:
    """1, 2, 3, ... per run id (thread-safe): for naming what a fault creates (a toxic, a rule) uniquely within a
    run. One instance per plugin, so each plugin's names in a run start at 1."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, itertools.count[int]] = {}

    def next(self, run_id: str) -> int:
        with self._lock:
            return next(self._counts.setdefault(run_id, itertools.count(1)))


class LoadRun(ABC):
    """A running load generator (see :class:`LoadDriver`)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the load. Idempotent; must not hang."""

    def report(self, phases: list[dict[str, Any]]) -> LoadReport:
        """What the load did, for ``journal.load`` (see :mod:`chaoskit.model.load`), given the run's windows
        (name, started_at, ended_at). A plain dict of that shape is accepted too (validated by the runner)."""
        return LoadReport()

    def second(self, t: int) -> dict[str, float | None] | None:
        """The load's SLIs in the whole second ``t`` (epoch s), for live views: ``rps``, ``error_rate`` (0..1)
        and ``p95_ms`` (None: not measured). None when the driver has nothing for that second (yet)."""
        return None


class LoadDriver(Plugin[P]):
    @abstractmethod
    def start(self, params: P, ctx: Context) -> LoadRun:
        """Start the load and return once it is running (the runner then waits for warm-up)."""

    def warmup(self, params: P) -> float:
        """Seconds to let the load settle before the baseline is judged."""
        return 0.0
