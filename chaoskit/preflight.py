"""Preflight: before a run, ask every plugin the experiment uses what it would trip over.

Each probe, fault, action and the load driver gets ``preflight(params, ctx)`` (see :mod:`chaoskit.plugin`),
once per step, under a timeout, with no side effects. Every problem is collected -- with the step's path -- and
raised at once as :class:`chaoskit.errors.PreflightFailed` (exit code 6). A check that raises or times out is a
problem too, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaoskit.errors import PreflightFailed, Problem
from chaoskit.loader import Loaded, line_of, loc_of
from chaoskit.plugin import Context, Plugin
from chaoskit.registry import Kind, Registry, default_registry
from chaoskit.timeouts import call_with_timeout

CHECK_TIMEOUT = 60.0
"""The longest one plugin's preflight of one step may take (a locustfile import in a child, a slow API)."""


def plugin_steps(loaded: Loaded) -> list[tuple[str, Kind, str]]:
    """(path, kind, plugin name) of every step that names a plugin."""
    exp = loaded.experiment
    out: list[tuple[str, Kind, str]] = []
    for i, probe in enumerate(exp.steady_state.probes):
        out.append((f"steady_state.probes[{i}]", "probe", probe.probe))
    for i, probe in enumerate(exp.safety.abort_when):
        out.append((f"safety.abort_when[{i}]", "probe", probe.probe))
    for where, steps in (("method", exp.method), ("rollbacks", exp.rollbacks)):
        for i, step in enumerate(steps):
            if step.plugin is not None and step.kind != "pause":
                out.append((f"{where}[{i}]", step.kind, step.plugin))
    return out


def plugins_used(loaded: Loaded) -> set[tuple[Kind, str]]:
    """(kind, name) of every plugin the experiment uses: its steps' plugins, its sections, its load driver."""
    used: set[tuple[Kind, str]] = {(kind, name) for _, kind, name in plugin_steps(loaded)}
    used |= {("section", name) for name in loaded.sections}
    load = loaded.experiment.load
    if load is not None:
        used.add(("load", str(load.get("driver", "locust"))))
    return used


def context(loaded: Loaded) -> Context:
    work_dir = Path(loaded.source).resolve().parent if loaded.source else Path.cwd()
    return Context(
        run_id="preflight",
        dry_run=True,
        configuration=loaded.configuration,
        sections=loaded.sections,
        work_dir=work_dir,
    )


def preflight(loaded: Loaded, registry: Registry | None = None, timeout: float = CHECK_TIMEOUT) -> None:
    """Raise :class:`PreflightFailed` listing every problem the experiment's plugins report."""
    registry = registry or default_registry()
    ctx = context(loaded)
    problems: list[Problem] = []

    def check(path: str, plugin: Plugin[Any], params: Any, where: str) -> None:
        try:
            found = call_with_timeout(lambda: plugin.preflight(params, ctx), timeout, f"preflight of {where}")
        except Exception as exc:  # a broken check is a problem to show, not a crash
            found = [f"the preflight check itself failed: {type(exc).__name__}: {exc}"]
        line = line_of(loaded.lines, loc_of(path))
        problems.extend(Problem(path, message, line, loaded.source) for message in found)

    for path, kind, name in plugin_steps(loaded):
        plugin = registry.instance(kind, name)
        check(f"{path}.with", plugin, loaded.params[path], f"{path} ({name})")
    for name, section in loaded.sections.items():  # a section that declares proxies: its ``<name>.proxies`` fault
        if f"{name}.proxies" in registry.entries("fault"):
            check(name, registry.instance("fault", f"{name}.proxies"), section, f"{name} ({name}.proxies)")
    load = loaded.experiment.load
    if load is not None and loaded.load_params is not None:
        driver = str(load.get("driver", "locust"))
        check("load", registry.instance("load", driver), loaded.load_params, f"load ({driver})")
    if problems:
        raise PreflightFailed(problems, loaded.source)
