"""The ``locust`` load driver: Locust runs in child processes owned by chaoskit; this side never imports locust.

``workers: 0`` runs one ``local`` child; ``workers: N`` runs a ``master`` child and N ``worker`` children
(Locust's own distribution of users), each worker streaming its stats straight to the runner; ``master:``
reads an external master (see :mod:`chaoskit_locust.remote`).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from pathlib import Path
from typing import Any

from chaoskit.errors import PluginError
from chaoskit.model.load import LoadReport
from chaoskit.plugin import Context, LoadDriver, LoadRun
from chaoskit_locust.headers import HeaderPush
from chaoskit_locust.params import LocustParams
from chaoskit_locust.process import Child
from chaoskit_locust.report import build_report, settle
from chaoskit_locust.series import Series, Stats, stats_of

FIRST_REQUEST_WAIT_S = 10.0


class LocustRun(LoadRun):
    """The running load and its per-second series (what the ``load.*`` probes and the report read)."""

    def __init__(self, params: LocustParams) -> None:
        self.params = params
        self.series = Series()
        self.started_at = time.time()
        self.stopped_at: float | None = None
        self.children: list[Child] = []
        self.delays: list[float] = []  # request completed -> its stats reached the runner, per line (s)
        self.failure: str | None = None
        self._lock = threading.Lock()
        self._stopped = False
        self.push: HeaderPush | None = None
        self.ctx: Context | None = None
        self.master_port: int | None = None
        """The port the master child bound (it picks a free one itself) and reported; workers connect to it."""
        self._master_listening = threading.Event()

    # -- the stream --------------------------------------------------------------------------
    def on_message(self, child: Child, message: dict[str, Any]) -> None:
        if message.get("type") == "listening":
            self.master_port = int(message["port"])
            self._master_listening.set()
        elif message.get("type") == "stats":
            self.series.add(int(message["tick"]), message.get("ep") or {})
            first = message.get("first")
            if isinstance(first, int | float):
                with self._lock:
                    if len(self.delays) < 100_000:
                        self.delays.append(time.time() - first)

    def second(self, t: int) -> dict[str, float | None] | None:
        """The whole second ``t`` of the series (live views): requests/s, error rate, p95. Zero requests in a
        second while the load runs is a measurement (e.g. every user stuck on a partition), not a gap."""
        if t < int(self.started_at) or (self.stopped_at is not None and t >= self.stopped_at):
            return None
        stats = stats_of(self.series.cell(t), 1.0)
        return {"rps": float(stats.requests), "error_rate": stats.error_rate, "p95_ms": stats.p95_ms}

    def check(self) -> None:
        """Raise :class:`PluginError` if the load is broken: a child died or stopped reporting."""
        if self.failure is not None:
            raise PluginError(self.failure)
        if self._stopped:
            return
        for child in self.children:
            if child.exited.is_set() or child.returncode is not None:
                self.failure = f"load failed: {child.describe_exit()}"
                raise PluginError(self.failure)
            quiet = time.monotonic() - child.last_seen
            if quiet > self.params.stall_timeout:
                self.failure = (
                    f"load failed: the locust {child.role} child (pid {child.pid}) sent nothing for {quiet:.1f}s "
                    f"(stall_timeout {self.params.stall_timeout:g}s): it hangs\n{child.stderr_tail()}"
                )
                raise PluginError(self.failure)

    def window(
        self, last: float, endpoint: str | None = None, since: float | None = None
    ) -> tuple[float, float, Stats]:
        """The stats of the last ``last`` seconds (not before ``since``), with the window's start and end."""
        self.check()
        end = self.until()
        start, stats = self.series.recent(last, end, self.started_at, endpoint, since)
        return start, max(start, end), stats  # empty (start == end) right after the revert

    def until(self) -> float:
        """Data exists up to now (or up to the stop)."""
        return time.time() if self.stopped_at is None else self.stopped_at

    # -- lifecycle ---------------------------------------------------------------------------
    def spawn(self, params: LocustParams, ctx: Context) -> None:
        assert params.locustfile is not None
        self.ctx = ctx
        path = Path(params.locustfile)
        if not path.is_absolute():
            path = (ctx.work_dir / path).resolve()
        if not path.is_file():
            raise PluginError(f"load.locustfile: no such file: {path} (relative paths start at {ctx.work_dir})")
        headers = ctx.headers()
        base: dict[str, Any] = {
            "locustfile": str(path),
            "host": params.host,
            "users": params.users,
            "spawn_rate": params.spawn_rate,
            "user_classes": params.user_classes,
            "tags": params.tags,
            "exclude_tags": params.exclude_tags,
            "headers": headers,
            "max_lifetime_s": params.max_lifetime,
            "start_timeout_s": params.start_timeout,
        }
        deadline = time.monotonic() + params.start_timeout
        if params.workers:
            # The master binds port 0 itself and reports the port it got; the workers start after, with it.
            base["workers"] = params.workers
            master = Child("master", {**base, "role": "master", "master_port": 0}, ctx.work_dir, self.on_message)
            self.children.append(master)
            master.start()
            _wait_for(self._master_listening, master, deadline, params.start_timeout, "did not listen for workers")
            assert self.master_port is not None
            port = self.master_port
            for _ in range(params.workers):
                worker = Child("worker", {**base, "role": "worker", "master_port": port}, ctx.work_dir, self.on_message)
                self.children.append(worker)
                worker.start()
        else:
            local = Child("local", {**base, "role": "local"}, ctx.work_dir, self.on_message)
            self.children.append(local)
            local.start()
        for child in self.children:
            _wait_for(child.ready, child, deadline, params.start_timeout, "is not ready")
        self.started_at = time.time()
        self.push = HeaderPush(ctx.headers, headers, list(self.children), params.headers_interval)
        self.push.start()
        # Running means requests flow: wait (briefly, bounded) for the first one so an immediate baseline sees load.
        first = time.monotonic() + min(FIRST_REQUEST_WAIT_S, max(0.0, deadline - time.monotonic()))
        while not self.series.seconds() and time.monotonic() < first:
            self.check()
            time.sleep(0.05)

    def stop(self) -> None:
        """Ask every child to stop, wait ``stop_timeout``, then kill (SIGTERM, SIGKILL). Idempotent, bounded.
        Raises :class:`PluginError` if the load broke during the run (a crash or hang), with its stderr."""
        if not self._stopped:
            with contextlib.suppress(PluginError):
                self.check()  # records a crash or hang before the stop changes the picture
                # keep the load up until the load-derived recovery after the last revert can be measured
                since = self.ctx.observed_since if self.ctx is not None else None
                settle(self.series, since, self.params.recovery, self.check)
            self._stopped = True
            self.stopped_at = time.time()
            if self.push is not None:
                self.push.stop()
            broken = {id(c) for c in self.children if c.returncode is not None}
            for child in self.children:
                child.request_stop()
            end = time.monotonic() + self.params.stop_timeout
            for child in self.children:
                if not child.wait_exit(max(0.0, end - time.monotonic())):
                    child.kill()
            for child in self.children:
                if id(child) not in broken and child.returncode not in (0, None) and self.failure is None:
                    self.failure = f"load failed while stopping: {child.describe_exit()}"
            for child in self.children:
                child.close()
        if self.failure is not None:
            raise PluginError(self.failure)

    def report(self, phases: list[dict[str, Any]]) -> LoadReport:
        processes = [{"role": c.role, "pid": c.pid, "returncode": c.returncode} for c in self.children]
        mode = "workers" if self.params.workers else "local"
        report = {**build_report(self, phases, self.params.recovery), "mode": mode, "processes": processes}
        if self.push is not None:
            report["header_pushes"] = self.push.pushes
        return LoadReport.model_validate(report)


def _refuse_gevent() -> None:
    """The runner's threads, waits and subprocesses hang once gevent has patched the process."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        raise PluginError(
            "this process was monkey-patched by gevent (something imported locust here, e.g. the `session` or "
            "`fastsession` fixture of locust's pytest plugin): chaoskit cannot run in it. Keep locust out of the "
            "process that runs chaoskit; the locust load driver runs Locust in its own child process"
        )


class LocustDriver(LoadDriver[LocustParams]):
    """Locust load (your locustfile, unchanged) in child processes; per-second stats stream to the runner."""

    Params = LocustParams

    def start(self, params: LocustParams, ctx: Context) -> LoadRun:
        _refuse_gevent()
        if params.master is not None:
            from chaoskit_locust.remote import RemoteRun

            remote = RemoteRun(params)
            remote.begin(ctx)
            return remote
        run = LocustRun(params)
        try:
            run.spawn(params, ctx)
        except BaseException:
            if run.push is not None:
                run.push.stop()
            for child in run.children:
                child.kill()
            run._stopped = True
            raise
        return run

    def warmup(self, params: LocustParams) -> float:
        return params.warmup

    def preflight(self, params: LocustParams, ctx: Context) -> list[str]:
        from chaoskit_locust.preflight import locust_preflight

        return locust_preflight(params, ctx)


def _wait_for(event: threading.Event, child: Child, deadline: float, start_timeout: float, what: str) -> None:
    """Wait for ``event`` (a child's ready, the master's port), failing fast when the child exits or time is up."""
    while not event.wait(0.1):
        if child.exited.is_set():
            raise PluginError(f"load did not start: {child.describe_exit()}")
        if time.monotonic() > deadline:
            raise PluginError(
                f"load did not start within start_timeout ({start_timeout:g}s): the locust {child.role} child "
                f"(pid {child.pid}) {what}\n{child.stderr_tail()}"
            )
