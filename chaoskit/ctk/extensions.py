"""Calls into CTK extensions (``chaostoxi``, ``chaosk8s``) mapped to chaoskit plugins.

When an experiment's ``python`` provider names a module of an extension package that is *not* installed,
chaoskit runs the call through its own plugins (found through the registry, as any plugin is); when the package
is installed, the function is called as CTK would. The mapped calls are listed in :data:`MAPPED`
(:mod:`chaoskit.ctk.chaostoxi`, :mod:`chaoskit.ctk.chaosk8s`); any other call into those packages is a
validation error that names it.

A call that injects a fault (a toxic, a disabled proxy, a scaled deployment, a cordoned node) goes through
chaoskit's fault contract: ``plan``, a revert-ledger entry on disk, ``inject``. The experiment's own rollback
for it (``delete_toxic``, ``enable_proxy``, ``scale_deployment`` back, ``uncordon_node``) reverts that same
ledger entry, so nothing is reverted twice; whatever is still pending when the run ends -- rollbacks skipped by
the strategy, an error, Ctrl-C, SIGTERM -- is reverted then, newest first, and a killed run leaves its ledger
for ``chaoskit rollback``.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from chaoskit.ctk.model import Activity, PythonProvider
from chaoskit.model.journal import FaultRecord

if TYPE_CHECKING:
    from chaoskit.ctk.load import LoadedCtk
    from chaoskit.ledger import Ledger
    from chaoskit.plugin import Context, Fault

EXTENSION_PACKAGES = ("chaostoxi", "chaosk8s")
REVERT_TIMEOUT = 60.0

Handler = Callable[..., Any]
"""A mapped call: ``handler(extensions, **arguments)``, with the extension function's own signature."""


def _mapped() -> dict[str, Handler]:
    from chaoskit.ctk import chaosk8s, chaostoxi

    return {**chaostoxi.HANDLERS, **chaosk8s.HANDLERS}


def installed(module: str) -> bool:
    top = module.split(".", 1)[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def handles(module: str) -> bool:
    """True when chaoskit maps calls into this module (an extension package that is not installed)."""
    return module.split(".", 1)[0] in EXTENSION_PACKAGES and not installed(module)


def check(provider: PythonProvider, activity: Activity) -> list[str] | None:
    """Problems with a mapped call, [] when it is fine, None when the call is not chaoskit's to map."""
    if not handles(provider.module):
        return None
    name = f"{provider.module}.{provider.func}"
    if name not in _mapped():
        known = ", ".join(sorted(k for k in _mapped() if k.startswith(provider.module.split(".", 1)[0])))
        return [
            f"{name} (activity {activity.label!r}) has no chaoskit equivalent; install the "
            f"{provider.module.split('.', 1)[0]} extension to have it called as CTK would (mapped: {known})"
        ]
    try:
        inspect.signature(_mapped()[name]).bind(None, **provider.arguments)
    except TypeError as exc:
        return [f"{name} (activity {activity.label!r}): {exc}"]
    return []


class ExtensionError(Exception):
    """A mapped call failed (it becomes CTK's ActivityFailed)."""


@dataclass
class Injected:
    record: FaultRecord
    key: tuple[str, ...]
    ctx: Context


class Extensions:
    """Runs the mapped calls of one CTK run; owns the run's revert ledger (created on the first fault)."""

    def __init__(
        self,
        loaded: LoadedCtk,
        ledger_dir: Path | None,
        run_id: str,
        on_fault: Callable[[FaultRecord, bool], None] = lambda record, injected: None,
    ) -> None:
        from chaoskit.registry import default_registry

        self.loaded = loaded
        self.ledger_dir = ledger_dir
        self.registry = default_registry()
        self.run_id = run_id
        self.on_fault = on_fault
        self.before_first_fault: Callable[[Path], None] = lambda ledger: None
        """Called with the ledger's path before the first fault is injected (the guardian starts there)."""
        """Told when a fault is in place (True) and when it is reverted or its revert failed (False)."""
        self.records: list[FaultRecord] = []
        self.injected: list[Injected] = []
        self.ledger: Ledger | None = None
        self.configuration: dict[str, Any] = dict(loaded.configuration)

    def modules(self) -> frozenset[str]:
        return frozenset(name.rsplit(".", 1)[0] for name in _mapped() if handles(name.rsplit(".", 1)[0]))

    def call(self, provider: PythonProvider, arguments: dict[str, Any], activity: Activity) -> Any:
        from chaoskit.ctk.providers import ActivityFailed
        from chaoskit.errors import ChaosKitError

        handler = _mapped().get(f"{provider.module}.{provider.func}")
        if handler is None:
            raise ActivityFailed(f"{provider.module}.{provider.func} has no chaoskit equivalent")
        try:
            return handler(self, **arguments)
        except (ExtensionError, ChaosKitError, ValidationError, TypeError) as exc:
            raise ActivityFailed(f"{provider.module}.{provider.func}: {exc}") from exc

    # -- the fault contract ---------------------------------------------------------------------------
    def context(self, sections: dict[str, BaseModel] | None = None) -> Context:
        from chaoskit.plugin import Context

        return Context(
            run_id=self.run_id,
            configuration=self.configuration,
            sections=sections or {},
            work_dir=self.loaded.work_dir,
        )

    def section(self, name: str, value: dict[str, Any]) -> BaseModel:
        model: type[BaseModel] = self.registry.load("section", name)
        return model.model_validate(value)

    def inject(
        self,
        plugin_name: str,
        params: dict[str, Any],
        ctx: Context,
        key: tuple[str, ...],
        label: str,
        adjust: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """plan -> ledger entry -> inject, with ``key`` naming the fault for the rollback that undoes it."""
        from chaoskit.ledger import Ledger, LedgerEntry

        plugin = self._fault(plugin_name)
        model = plugin.Params.model_validate(params)
        info = plugin.plan(model, ctx)
        if adjust is not None:
            info = adjust(info)
        if self.ledger is None:
            self.ledger = Ledger.create(self.run_id, self.loaded.experiment.title, self.ledger_dir)
            self.before_first_fault(self.ledger.path)
        entry = LedgerEntry(id=uuid.uuid4().hex[:8], plugin=plugin_name, name=label, info=info)
        self.ledger.add(entry)
        record = FaultRecord(
            name=label,
            plugin=plugin_name,
            params=params,
            ledger_id=entry.id,
            target=plugin.describe(info),
            revert_info=info,
        )
        self.records.append(record)
        self.injected.append(Injected(record, key, ctx))
        try:
            updated = plugin.inject(model, info, ctx)
        except Exception as exc:
            record.error = str(exc)
            self.ledger.update(entry.id, state="injected", error=str(exc))  # may be half done: revert it
            raise
        if updated is not None:
            info = updated
            record.revert_info = updated
        record.injected_at = time.time()
        self.ledger.update(entry.id, state="injected", info=info)
        self.on_fault(record, True)
        return info

    def find(self, key: tuple[str, ...]) -> Injected | None:
        """The newest fault still in effect with this key."""
        for item in reversed(self.injected):
            if item.key == key and item.record.reverted_at is None and item.record.revert_error is None:
                return item
        return None

    def revert(self, item: Injected) -> None:
        from chaoskit.timeouts import call_with_timeout

        assert self.ledger is not None
        plugin = self._fault(item.record.plugin)
        info = item.record.revert_info
        try:
            call_with_timeout(
                functools.partial(plugin.revert, info, item.ctx), REVERT_TIMEOUT, f"reverting {item.record.name}"
            )
        except Exception as exc:
            item.record.revert_error = str(exc)
            self.ledger.update(item.record.ledger_id, state="revert-failed", error=str(exc))
            self.on_fault(item.record, False)
            raise
        item.record.reverted_at = time.time()
        self.ledger.update(item.record.ledger_id, state="reverted")
        self.on_fault(item.record, False)

    def revert_all(self) -> list[str]:
        """Revert every fault still in effect, newest first. Returns one message per failed revert."""
        failed: list[str] = []
        for item in reversed(self.injected):
            if item.record.reverted_at is not None or item.record.revert_error is not None:
                continue
            try:
                self.revert(item)
            except Exception as exc:
                failed.append(f"revert of {item.record.name} failed: {exc}; run `chaoskit rollback`")
        if self.ledger is not None:
            self.ledger.close_if_clean()
        return failed

    def _fault(self, name: str) -> Fault[Any]:
        from chaoskit.plugin import Fault

        plugin = self.registry.instance("fault", name)
        assert isinstance(plugin, Fault)
        return plugin
