"""One scan of the installed distributions' entry points per process, shared by every plugin kind
(``chaoskit.probes``, ``chaoskit.faults``...), the lifecycle hooks and the pytest plugin's fixture modules.

``importlib.metadata.entry_points(group=...)`` reads every installed distribution's ``entry_points.txt`` on
each call; a run asks for half a dozen groups, a game day for them again per experiment. The scan is kept
for as long as ``sys.path`` stays the same (a distribution put on a new path is seen)."""

from __future__ import annotations

import functools
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any


@functools.lru_cache(maxsize=1)
def _scan(path: tuple[str, ...]) -> Any:
    """Every entry point: Python 3.11's ``SelectableGroups`` or 3.12's ``EntryPoints``; both ``select``."""
    return entry_points()


_names: dict[int, tuple[object, str]] = {}


def distribution(ep: EntryPoint) -> str:
    """The name of the distribution that registered ``ep``: read from its metadata once per distribution (the
    standard ``ep.dist.name`` parses the metadata file again on every call)."""
    dist = ep.dist
    if dist is None:
        return "?"
    known = _names.get(id(dist))
    if known is None or known[0] is not dist:
        known = _names[id(dist)] = (dist, str(dist.name))
    return known[1]


def group(name: str) -> tuple[EntryPoint, ...]:
    """The entry points registered under ``name`` (each with its ``dist``), from this process's one scan."""
    return tuple(_scan(tuple(sys.path)).select(group=name))


__all__ = ["EntryPoint", "distribution", "group"]
