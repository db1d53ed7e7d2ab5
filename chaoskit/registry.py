"""Discovery of plugins through entry points. A name registered twice is an error, never an override."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint
from typing import Any, Literal

from chaoskit.entrypoints import distribution
from chaoskit.entrypoints import group as entry_point_group
from chaoskit.errors import PluginConflict, PluginError, PluginNotFound
from chaoskit.plugin import Action, Fault, LoadDriver, Plugin, Probe
from chaoskit.record import record

Kind = Literal["probe", "action", "fault", "load", "section", "hooks"]

GROUPS: dict[Kind, str] = {
    "probe": "chaoskit.probes",
    "action": "chaoskit.actions",
    "fault": "chaoskit.faults",
    "load": "chaoskit.load",
    "section": "chaoskit.sections",
    "hooks": "chaoskit.hooks",
}
_BASES: dict[Kind, type[Plugin[Any]]] = {"probe": Probe, "action": Action, "fault": Fault, "load": LoadDriver}


@record(frozen=True)
class Entry:
    kind: Kind
    name: str
    target: str
    distribution: str


class Registry:
    """Entry points of every installed distribution, loaded lazily and cached."""

    def __init__(self, extra: dict[Kind, dict[str, Any]] | None = None) -> None:
        self._entries: dict[Kind, dict[str, tuple[Entry, EntryPoint | None]]] = {}
        self._loaded: dict[tuple[Kind, str], Any] = {}
        self._instances: dict[tuple[Kind, str], Plugin[Any]] = {}
        self._extra = extra or {}

    def entries(self, kind: Kind) -> dict[str, Entry]:
        return {name: entry for name, (entry, _) in self._scan(kind).items()}

    def _scan(self, kind: Kind) -> dict[str, tuple[Entry, EntryPoint | None]]:
        if kind in self._entries:
            return self._entries[kind]
        found: dict[str, tuple[Entry, EntryPoint | None]] = {}
        for ep in entry_point_group(GROUPS[kind]):
            dist = distribution(ep)
            entry = Entry(kind, ep.name, ep.value, dist)
            if ep.name in found:
                other = found[ep.name][0]
                if (other.target, other.distribution) == (entry.target, entry.distribution):
                    continue  # the same distribution seen twice on sys.path
                raise PluginConflict(
                    f"{kind} plugin name {ep.name!r} is registered twice: by {other.distribution} "
                    f"({other.target}) and by {dist} ({ep.value}); uninstall one of them"
                )
            found[ep.name] = (entry, ep)
        for name, obj in self._extra.get(kind, {}).items():
            if name in found:
                raise PluginConflict(
                    f"{kind} plugin name {name!r} is already registered by {found[name][0].distribution}"
                )
            found[name] = (Entry(kind, name, repr(obj), "(in process)"), None)
            self._loaded[(kind, name)] = obj
        self._entries[kind] = found
        return found

    def load(self, kind: Kind, name: str) -> Any:
        """The registered object (a class for plugins/sections). Raises PluginNotFound with suggestions."""
        key = (kind, name)
        entries = self._scan(kind)  # first: it also fills in the in-process extras
        if key in self._loaded:
            return self._loaded[key]
        if name not in entries:
            import difflib  # only for the error

            close = difflib.get_close_matches(name, list(entries), n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            known = ", ".join(sorted(entries)) or "none installed"
            raise PluginNotFound(f"unknown {kind} {name!r}{hint} (installed: {known})")
        entry, ep = entries[name]
        assert ep is not None
        try:
            obj = ep.load()
        except Exception as exc:
            raise PluginError(
                f"{kind} plugin {name!r} ({entry.target} from {entry.distribution}) failed to load: {exc}"
            ) from exc
        base = _BASES.get(kind)
        if base is not None and not (isinstance(obj, type) and issubclass(obj, base)):
            raise PluginError(
                f"{kind} plugin {name!r} ({entry.target}) is not a subclass of chaoskit.plugin.{base.__name__}"
            )
        if isinstance(obj, type) and issubclass(obj, Plugin):
            obj.name = name
        self._loaded[key] = obj
        return obj

    def instance(self, kind: Kind, name: str) -> Plugin[Any]:
        cached = self._instances.get((kind, name))
        if cached is None:
            cls = self.load(kind, name)
            cached = cls() if isinstance(cls, type) else cls
            self._instances[(kind, name)] = cached
        return cached

    def wanted_hooks(self, used: Iterable[tuple[Kind, str]]) -> Callable[[str], bool]:
        """Which distributions' ``chaoskit.hooks`` to load for an experiment that uses these (kind, name)
        plugins: a distribution that registers plugins only when the experiment uses one of them (the
        Kubernetes plugin's hooks stay unimported in a run that uses no Kubernetes fault, probe or section);
        a distribution of hooks alone (notifications, reporting) always."""
        with_plugins = {e.distribution for kind in _PLUGIN_KINDS for e in self.entries(kind).values()}
        used_by_run = set()
        for kind, name in used:
            entry = self.entries(kind).get(name)
            if entry is not None:
                used_by_run.add(entry.distribution)
        return lambda dist: dist not in with_plugins or dist in used_by_run


_PLUGIN_KINDS: tuple[Kind, ...] = ("probe", "action", "fault", "load", "section")
_default: Registry | None = None


def default_registry() -> Registry:
    global _default
    if _default is None:
        _default = Registry()
    return _default
