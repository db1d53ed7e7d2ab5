"""One scan of the installed distributions' entry points per process, shared by every plugin kind
(``chaoskit.probes``, ``chaoskit.faults``...), the lifecycle hooks and the pytest plugin's fixture modules.

``importlib.metadata.entry_points(group=...)`` reads every installed distribution's ``entry_points.txt`` on
each call; a run asks for half a dozen groups, a game day for them again per experiment. The scan is kept
for as long as ``sys.path`` stays the same (a distribution put on a new path is seen)."""

from __future__ import annotations

import functools
import os
import re
import sys
import warnings
from importlib.metadata import EntryPoint, entry_points
from typing import Any


@functools.lru_cache(maxsize=1)
def _scan(path: tuple[str, ...]) -> Any:
    """Every entry point: Python 3.11's ``SelectableGroups`` or 3.12's ``EntryPoints``; both ``select``."""
    return entry_points()


_names: dict[int, tuple[object, str]] = {}


def distribution(ep: EntryPoint) -> str:
    """The name of the distribution that registered ``ep``, in its canonical form (``chaoskit-http``), worked
    out once per distribution."""
    dist = ep.dist
    if dist is None:
        return "?"
    known = _names.get(id(dist))
    if known is None or known[0] is not dist:
        known = _names[id(dist)] = (dist, _name(dist))
    return known[1]


def _name(dist: Any) -> str:
    """From the name of the distribution's metadata folder (``chaoskit_http-0.1.0.dist-info``) when it has one:
    the standard ``dist.name`` reads the metadata file with the email parser (about 5 M instructions in a
    run, for a name used to pick which hooks to load). Otherwise from the metadata."""
    folder = getattr(getattr(dist, "_path", None), "name", "")  # importlib.metadata.PathDistribution's folder
    if isinstance(folder, str) and folder.endswith((".dist-info", ".egg-info")):
        name = folder.rsplit(".", 1)[0].split("-", 1)[0]
    else:
        name = str(dist.name)
    return re.sub(r"[-_.]+", "-", name).lower()


def group(name: str) -> tuple[EntryPoint, ...]:
    """The entry points registered under ``name`` (each with its ``dist``), from this process's one scan."""
    return tuple(_scan(tuple(sys.path)).select(group=name))


def share_with_pydantic() -> None:
    """pydantic looks for its plugins (entry-point group ``pydantic``) when the first model class is built, with a
    scan of every installed distribution of its own. Hand it the ones this process's scan found instead: the
    same plugins, loaded as pydantic loads them (one that fails to import is left out with a warning). Nothing
    is done when pydantic has them already, when ``PYDANTIC_DISABLE_PLUGINS`` is set (pydantic applies it), or
    when pydantic's loader is not the one this was written against (it then scans as usual)."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") is not None:
        return
    try:
        from pydantic.plugin import _loader
    except ImportError:
        return
    if getattr(_loader, "_plugins", 0) is not None or getattr(_loader, "_loading_plugins", None) is not False:
        return
    plugins: dict[str, Any] = {}
    _loader._loading_plugins = True  # a plugin that builds models while it loads gets no plugins (as in pydantic)
    try:
        for ep in group(_loader.PYDANTIC_ENTRY_POINT_GROUP):
            if ep.value in plugins:
                continue
            try:
                plugins[ep.value] = ep.load()
            except (ImportError, AttributeError) as exc:
                what = f"{type(exc).__name__} while loading the pydantic plugin {ep.name!r}: {exc!r}"
                warnings.warn(what, stacklevel=2)
    finally:
        _loader._loading_plugins = False
    _loader._plugins = plugins


__all__ = ["EntryPoint", "distribution", "group", "share_with_pydantic"]
