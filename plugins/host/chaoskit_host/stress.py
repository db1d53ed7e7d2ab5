"""``host.cpu_stress`` and ``host.memory_stress``: bounded worker processes, always stopped on revert.

Workers are child processes (:mod:`chaoskit_host.worker`) that exit by themselves when chaoskit is
gone or their ``max_lifetime`` is up. ``plan`` picks a token that goes on every worker's command
line, so ``revert`` finds them even when the runner was killed before it could record their pids;
recorded workers are killed by pid + start time, never by pid alone.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, ClassVar

from pydantic import Field

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context, Fault
from chaoskit_host import procfs

WORKER_MODULE = "chaoskit_host.worker"
_children: dict[int, subprocess.Popen[bytes]] = {}
_children_lock = threading.Lock()


class StressParams(StrictModel):
    max_lifetime: Duration = Field(
        default=300.0, gt=0, le=3600, description="Hard cap: workers exit by themselves after this, whatever happens."
    )


class CpuStressParams(StressParams):
    workers: int = Field(default=1, ge=1, le=64, description="Worker processes, each keeping one CPU busy.")
    load_percent: int = Field(default=100, ge=1, le=100, description="Share of each 100 ms slice spent busy.")


class MemoryStressParams(StressParams):
    size_mib: int = Field(ge=1, le=1024 * 1024, description="MiB to allocate (and touch) in one worker process.")
    min_free_mib: int = Field(
        default=512, ge=0, description="Refuse when less than this much memory would stay available."
    )


def new_token(ctx: Context) -> str:
    return f"{ctx.run_id}-{uuid.uuid4().hex[:10]}"


def is_worker(proc: procfs.Proc, token: str) -> bool:
    argv = proc.cmdline
    return WORKER_MODULE in argv and "--token" in argv and token in argv


def spawn(kind: str, token: str, max_seconds: float, extra: list[str], ready_timeout: float) -> dict[str, int]:
    """Start one worker and wait until it reports ready. Returns its identity (pid + start time)."""
    argv = [sys.executable, "-m", WORKER_MODULE, kind, "--parent", str(os.getpid())]
    argv += ["--max-seconds", f"{max_seconds:g}", "--token", token, *extra]
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    with _children_lock:
        _children[proc.pid] = proc
    info = procfs.read_proc(proc.pid)
    identity = {"pid": proc.pid, "starttime": info.starttime if info else -1}
    assert proc.stdout is not None
    end = time.monotonic() + ready_timeout
    line = b""
    while not line.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            kill_workers([identity], token)
            raise PluginError(f"{kind} stress worker (pid {proc.pid}) was not ready within {ready_timeout:g}s")
        chunk = os.read(proc.stdout.fileno(), 64)
        if not chunk:
            code = proc.wait(timeout=5)
            raise PluginError(f"{kind} stress worker (pid {proc.pid}) exited with {code} before it was ready")
        line += chunk
    return identity


def kill_workers(recorded: list[dict[str, int]], token: str, timeout: float = 10.0) -> list[int]:
    """Kill the recorded workers and any other worker carrying ``token``. Returns pids still alive."""
    idents = {(w["pid"], w["starttime"]) for w in recorded}
    idents |= {(p.pid, p.starttime) for p in procfs.iter_procs() if is_worker(p, token) and p.alive}
    for pid, start in idents:
        procfs.signal_identity(pid, start, signal.SIGKILL)
    left = [pid for pid, start in idents if not procfs.wait_gone(pid, start, timeout, reap_child=True)]
    for pid, _ in idents:
        with _children_lock:
            child = _children.pop(pid, None)
        if child is not None:
            if child.stdout is not None:
                child.stdout.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1)
    return left


class _StressFault(Fault[Any]):
    kind: ClassVar[str] = ""

    def worker_args(self, params: Any) -> list[list[str]]:
        raise NotImplementedError

    def check(self, params: Any) -> None:
        """Refuse what the machine cannot take (called by plan and again by inject)."""

    def plan(self, params: Any, ctx: Context) -> dict[str, Any]:
        self.check(params)
        return {
            "kind": self.kind,
            "token": new_token(ctx),
            "max_lifetime_s": params.max_lifetime,
            "settings": params.model_dump(exclude={"max_lifetime"}),
            "workers": [],
        }

    def inject(self, params: Any, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        self.check(params)
        workers: list[dict[str, int]] = []
        try:
            for extra in self.worker_args(params):
                if ctx.cancel.is_set():  # the run is stopping: start no more workers
                    raise PluginError(f"host.{self.kind}_stress: cancelled after {len(workers)} worker(s)")
                workers.append(spawn(self.kind, info["token"], params.max_lifetime, extra, self.ready_timeout(params)))
        except BaseException:
            kill_workers(workers, info["token"])
            raise
        ctx.log(f"host.{self.kind}_stress: workers {[w['pid'] for w in workers]}")
        return {**info, "workers": workers}

    def ready_timeout(self, params: Any) -> float:
        return 30.0

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        left = kill_workers(info.get("workers", []), info["token"])
        if left:
            raise PluginError(f"host.{self.kind}_stress: workers {left} are still alive after SIGKILL")


class CpuStressFault(_StressFault):
    """Keep N CPUs busy with worker processes (bounded by max_lifetime); revert stops them."""

    Params = CpuStressParams
    kind = "cpu"

    def worker_args(self, params: CpuStressParams) -> list[list[str]]:
        return [["--load-percent", str(params.load_percent)] for _ in range(params.workers)]

    def describe(self, info: dict[str, Any]) -> str:
        settings = info.get("settings", {})
        return (
            f"{settings.get('workers')} CPU worker process(es) at {settings.get('load_percent')}% "
            f"(they exit by themselves after {info.get('max_lifetime_s')}s at most)"
        )


class MemoryStressFault(_StressFault):
    """Allocate N MiB in a worker process (bounded; refused below min_free_mib); revert frees it."""

    Params = MemoryStressParams
    kind = "memory"

    def check(self, params: MemoryStressParams) -> None:
        available = procfs.mem_available_mib()
        if available - params.size_mib < params.min_free_mib:
            raise PluginError(
                f"host.memory_stress: allocating {params.size_mib} MiB would leave {available - params.size_mib} MiB "
                f"available, below min_free_mib ({params.min_free_mib} MiB); {available} MiB is available now"
            )

    def worker_args(self, params: MemoryStressParams) -> list[list[str]]:
        return [["--size-mib", str(params.size_mib)]]

    def ready_timeout(self, params: MemoryStressParams) -> float:
        return 30.0 + params.size_mib / 100

    def describe(self, info: dict[str, Any]) -> str:
        return (
            f"allocate {info.get('settings', {}).get('size_mib')} MiB in one worker process "
            f"(it exits by itself after {info.get('max_lifetime_s')}s at most)"
        )
