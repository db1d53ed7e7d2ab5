"""Calls into the chaosk8s and chaostoxi extensions, mapped to chaoskit plugins (filled in below)."""

from __future__ import annotations

import importlib.util

from chaoskit.ctk.model import Activity, PythonProvider
from chaoskit.model.journal import FaultRecord

EXTENSION_PACKAGES = ("chaosk8s", "chaostoxi")


def installed(module: str) -> bool:
    top = module.split(".", 1)[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def handles(module: str) -> bool:
    """True when chaoskit maps this module (an extension package that is not installed)."""
    return module.split(".", 1)[0] in EXTENSION_PACKAGES and not installed(module)


def check(provider: PythonProvider, activity: Activity) -> list[str] | None:
    """Problems with a mapped call, [] when it is fine, None when the call is not chaoskit's to map."""
    if not handles(provider.module):
        return None
    return [
        f"{provider.module}.{provider.func} (activity {activity.label!r}): this extension call has no chaoskit "
        "equivalent; install the extension package to have it called as CTK would"
    ]


class Extensions:
    """Runs mapped extension calls for one CTK run; faults go through a revert ledger."""

    def __init__(self, loaded: object, ledger_dir: object, dry: bool) -> None:
        self.records: list[FaultRecord] = []

    def modules(self) -> frozenset[str]:
        return frozenset()

    def call(self, provider: PythonProvider, arguments: dict[str, object], activity: Activity) -> object:
        raise NotImplementedError

    def revert_all(self) -> list[str]:
        return []
