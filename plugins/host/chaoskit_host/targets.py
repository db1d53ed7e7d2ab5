"""Which processes a fault acts on: selectors (pid, pidfile, name, cmdline, port), then a seeded choice.

Selectors combine with AND. Zombies, kernel threads, chaoskit's own process and its ancestors are
never candidates. The choice is random but reproducible: the same ``seed`` over the same candidates
picks the same processes, and the seed used is recorded (a random one when none is given).
"""

from __future__ import annotations

import math
import random
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from chaoskit.errors import PluginError
from chaoskit.model.base import Regex, StrictModel
from chaoskit.plugin import Context
from chaoskit_host import procfs
from chaoskit_host.procfs import Proc


class Selector(StrictModel):
    """Selectors shared by the host faults and the ``host.process`` probe (combined with AND)."""

    pid: int | None = Field(default=None, gt=0, description="A process id.")
    pidfile: str | None = Field(default=None, description="A file holding a pid (relative to the experiment file).")
    name: str | None = Field(default=None, min_length=1, description="Exact process name (comm or argv[0] basename).")
    cmdline: Regex | None = Field(default=None, min_length=1, description="Regex searched in the full command line.")
    port: int | None = Field(default=None, ge=1, le=65535, description="The process listening on this TCP port.")

    @model_validator(mode="after")
    def _something(self) -> Selector:
        if all(getattr(self, k) is None for k in ("pid", "pidfile", "name", "cmdline", "port")):
            raise ValueError("select processes with at least one of: pid, pidfile, name, cmdline, port")
        return self

    def searched(self) -> str:
        """What was looked for, for error messages."""
        parts = [f"{k}={getattr(self, k)!r}" for k in ("pid", "pidfile", "name", "cmdline", "port")]
        return ", ".join(p for p in parts if not p.endswith("=None"))


class TargetParams(Selector):
    """Selectors plus how many of the matches to act on."""

    mode: Literal["one", "all", "count", "percent"] = Field(
        default="one", description="one, all, count (N processes) or percent (N% of the matches, rounded up)."
    )
    count: int | None = Field(default=None, ge=1, description="mode count: how many processes.")
    percent: float | None = Field(default=None, gt=0, le=100, description="mode percent: which share.")
    seed: int | None = Field(default=None, description="Seed for the random choice (reproducible runs).")
    allow_no_match: bool = Field(default=False, description="Matching nothing is not an error (nothing is done).")

    @model_validator(mode="after")
    def _mode_fits(self) -> TargetParams:
        if self.mode == "count" and self.count is None:
            raise ValueError("mode count needs 'count' (how many processes)")
        if self.mode == "percent" and self.percent is None:
            raise ValueError("mode percent needs 'percent' (e.g. 50)")
        if self.count is not None and self.mode != "count":
            raise ValueError(f"'count' applies to mode count, not to mode {self.mode}")
        if self.percent is not None and self.mode != "percent":
            raise ValueError(f"'percent' applies to mode percent, not to mode {self.mode}")
        return self


def _pid_from_file(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def matches(selector: Selector, ctx: Context) -> tuple[list[Proc], str]:
    """Every live process the selector matches (sorted by pid), and a note when a selector found nothing."""
    excluded = procfs.ancestors()
    wanted: set[int] | None = None
    note = ""
    if selector.pid is not None:
        wanted = {selector.pid}
    if selector.pidfile is not None:
        path = Path(ctx.work_dir, selector.pidfile)
        pid = _pid_from_file(path)
        if pid is None:
            return [], f"pidfile {path} is missing, unreadable or holds no pid"
        wanted = {pid} if wanted is None else wanted & {pid}
    if selector.port is not None:
        inodes = {listener.inode for listener in procfs.listeners(selector.port)}
        if not inodes:
            return [], f"nothing listens on TCP port {selector.port}"
        owners = procfs.socket_owners(inodes)
        if not owners:
            return [], f"TCP port {selector.port} is listening, but its process is not visible (permissions?)"
        wanted = owners if wanted is None else wanted & owners
    candidates = (
        (p for p in (procfs.read_proc(pid) for pid in sorted(wanted)) if p is not None)
        if wanted is not None
        else procfs.iter_procs()
    )
    pattern = re.compile(selector.cmdline) if selector.cmdline is not None else None
    found = []
    for proc in candidates:
        if proc.pid in excluded or not proc.alive or proc.kernel_thread:
            continue
        # The command line is empty for a moment while a process is in exec(): then only comm is known.
        argv0 = Path(proc.cmdline[0]).name if proc.cmdline else proc.comm
        if selector.name is not None and selector.name not in (proc.comm, argv0):
            continue
        if pattern is not None and not pattern.search(" ".join(proc.cmdline)):
            continue
        found.append(proc)
    return sorted(found, key=lambda p: p.pid), note


def preflight(params: TargetParams, ctx: Context) -> list[str]:
    """Preflight of a fault on processes: the pidfile holds a pid, the port has a listener, something matches."""
    procs, note = matches(params, ctx)
    if procs or params.allow_no_match:
        return []
    return [f"no process matches {params.searched()}" + (f": {note}" if note else "")]


def choose(procs: list[Proc], params: TargetParams, seed: int) -> list[Proc]:
    """Pick the targets among the matches: reproducible for a given seed and candidate set."""
    total = len(procs)
    if params.mode == "all":
        k = total
    elif params.mode == "one":
        k = 1
    elif params.mode == "count":
        k = params.count or 1
    else:
        k = math.ceil(total * (params.percent or 100) / 100)
    k = min(k, total)
    if k == total:
        return list(procs)
    return sorted(random.Random(seed).sample(procs, k), key=lambda p: p.pid)


def resolve(params: TargetParams, ctx: Context, what: str) -> dict[str, Any]:
    """The part of a fault's revert info that names its targets. Raises when nothing matches."""
    procs, note = matches(params, ctx)
    if not procs and not params.allow_no_match:
        why = f" ({note})" if note else ""
        raise PluginError(
            f"{what}: no process matches {params.searched()}{why}; chaoskit's own process and its ancestors, "
            "zombies and kernel threads are never targets (set allow_no_match: true to accept no match)"
        )
    seed = params.seed if params.seed is not None else random.SystemRandom().randrange(2**31)
    chosen = choose(procs, params, seed)
    return {
        "selector": params.searched(),
        "mode": params.mode,
        "seed": seed,
        "matched": len(procs),
        "targets": [p.shown() for p in chosen],
    }


def describe_targets(info: dict[str, Any]) -> str:
    targets = info.get("targets", [])
    if not targets:
        return f"no process (nothing matched {info.get('selector', '?')})"
    shown = ", ".join(f"pid {t['pid']} ({t['cmdline']})" for t in targets)
    return f"{len(targets)} of {info.get('matched', len(targets))} matching process(es): {shown}"
