"""The Locust child process: ``python -m chaoskit_locust.child`` (configuration in ``CHAOSKIT_LOCUST_CONFIG``).

This is the only module that imports locust (which monkey-patches the process with gevent); the chaoskit
runner starts it as a child and never imports it. Roles: ``local`` (one process runs the users), ``master``
(distributes users to local workers) and ``worker``. It writes JSON lines to the file descriptor the parent
passed (``fd``), never to stdout, so a locustfile's prints cannot corrupt the stream:

* ``{"type": "listening", "port": n}`` (master only) once it listens for workers on the port it bound itself
  (``master_port`` 0: the OS picks a free one), so the parent starts the workers with that port;
* ``{"type": "ready"}`` once the users are being started (workers: once connected to the master);
* ``{"type": "stats", "tick": n, "ep": {name: {"n", "f", "rt": {ms: count}}}, "first": ts, "sent": ts}``,
  the requests completed since the last line, every ``flush_s``; ``first`` is the completion time of the
  oldest one (for the stats delay);
* ``{"type": "beat", "sent": ts, "users": n}`` when there is nothing new (the parent's liveness signal);
* ``{"type": "error", "message": ...}`` before exiting on an error the user can fix.

Its stdin carries lines from the parent: ``headers {json}`` (the run's current trace headers, swapped into every
HttpUser/FastHttpUser session) and ``stop``. It stops when the parent writes ``stop`` or closes its stdin, when
the parent dies (``PR_SET_PDEATHSIG`` and a parent-pid check), and at ``max_lifetime_s`` in any case.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import sys
import time
from typing import Any

from chaoskit_locust.headers import LiveHeaders, decode
from chaoskit_locust.series import TICKS_PER_S, bucket_ms

EXIT_OK, EXIT_USAGE, EXIT_LIFETIME, EXIT_ORPHAN = 0, 2, 3, 4


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(EXIT_ORPHAN)


class Stream:
    """Request deltas per 100 ms tick (see :mod:`chaoskit_locust.series`), flushed as JSON lines."""

    def __init__(self, fd: int) -> None:
        self.out = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
        self.pending: dict[int, dict[str, list[Any]]] = {}
        self.first: float | None = None

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.out.write(json.dumps(message, separators=(",", ":")) + "\n")
        except (BrokenPipeError, OSError):
            os._exit(EXIT_ORPHAN)  # nobody reads us any more

    def on_request(
        self, request_type: str, name: str, response_time: float | None, exception: Any = None, **kwargs: Any
    ) -> None:
        now = time.time()
        tick = int(now * TICKS_PER_S)
        row = self.pending.get(tick)
        if row is None:
            row = self.pending[tick] = {}
        cell = row.get(name)
        if cell is None:
            cell = row[name] = [0, 0, {}]
        cell[0] += 1
        if exception is not None:
            cell[1] += 1
        ms = bucket_ms(response_time or 0.0)
        cell[2][ms] = cell[2].get(ms, 0) + 1
        if self.first is None:
            self.first = now

    def flush(self, users: int) -> None:
        pending, first = self.pending, self.first
        self.pending, self.first = {}, None
        sent = time.time()
        if not pending:
            self.send({"type": "beat", "sent": sent, "users": users})
            return
        for tick in sorted(pending):
            ep = {name: {"n": c[0], "f": c[1], "rt": c[2]} for name, c in pending[tick].items()}
            self.send({"type": "stats", "tick": tick, "ep": ep, "first": first, "sent": sent, "users": users})


def _fail(stream: Stream, message: str) -> None:
    stream.send({"type": "error", "message": message})
    sys.stderr.write(f"chaoskit-locust: {message}\n")
    sys.stderr.flush()
    sys.exit(EXIT_USAGE)


def _patch_headers(live: LiveHeaders) -> None:
    """Send the run's trace context (traceparent, baggage) with every HttpUser/FastHttpUser request; ``live``
    keeps every session's copy in step with what the runner pushes (see :mod:`chaoskit_locust.headers`)."""
    HttpSession: Any = importlib.import_module("locust.clients").HttpSession
    FastHttpSession: Any = importlib.import_module("locust.contrib.fasthttp").FastHttpSession
    http_init = HttpSession.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        http_init(self, *args, **kwargs)
        live.attach(self, self.headers)

    fast_init = FastHttpSession.__init__

    def fast(self: Any, *args: Any, **kwargs: Any) -> None:
        fast_init(self, *args, **kwargs)
        live.attach(self, self.client.default_headers)

    HttpSession.__init__ = init
    FastHttpSession.__init__ = fast


def main() -> None:
    cfg: dict[str, Any] = json.loads(os.environ["CHAOSKIT_LOCUST_CONFIG"])
    # A terminal's Ctrl-C reaches the whole process group, this child included. The runner handles it (it reverts
    # the faults, then stops the load through stdin, and kills it after stop_timeout): here it would only end
    # the load early, with a KeyboardInterrupt traceback and a "killed by signal 2" load error.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(int(cfg["parent_pid"]))
    stream = Stream(int(cfg["fd"]))
    started = time.monotonic()

    # Imported here, untyped on purpose: locust monkey-patches this process with gevent as it is imported.
    locust: Any = importlib.import_module("locust")
    gevent: Any = importlib.import_module("gevent")
    Event: Any = importlib.import_module("gevent.event").Event
    wait_read: Any = importlib.import_module("gevent.socket").wait_read
    get_parser: Any = importlib.import_module("locust.argument_parser").get_parser
    Environment: Any = importlib.import_module("locust.env").Environment
    setup_logging: Any = importlib.import_module("locust.log").setup_logging
    load_locustfile: Any = importlib.import_module("locust.util.load_locustfile").load_locustfile

    setup_logging("INFO", None)
    role = cfg["role"]
    path = cfg["locustfile"]
    if not os.path.isfile(path):
        _fail(stream, f"locustfile not found: {path}")
    available, shapes = load_locustfile(path)
    if not available:
        _fail(stream, f"{path} defines no User class (a subclass of locust.User, HttpUser or FastHttpUser)")
    wanted = cfg.get("user_classes") or list(available)
    unknown = [name for name in wanted if name not in available]
    if unknown:
        _fail(stream, f"user_classes {unknown} not in {path} (it defines: {', '.join(sorted(available))})")
    args = ["--headless", "-f", path, "-u", str(cfg["users"]), "-r", str(cfg["spawn_rate"])]
    if cfg.get("host"):
        args += ["-H", cfg["host"]]
    options = get_parser(default_config_files=[]).parse_args(args)  # includes a locustfile's own arguments
    live = LiveHeaders(cfg.get("headers") or {})
    _patch_headers(live)
    env = Environment(
        user_classes=[available[name] for name in wanted],
        shape_class=shapes[0] if shapes and role != "worker" else None,
        tags=cfg.get("tags") or None,
        exclude_tags=cfg.get("exclude_tags") or None,
        events=locust.events,
        host=cfg.get("host"),
        locustfile=path,
        parsed_options=options,
        available_user_classes=available,
    )
    if role == "master":
        runner: Any = env.create_master_runner("127.0.0.1", int(cfg.get("master_port", 0)))
        stream.send({"type": "listening", "port": int(runner.server.port)})
    elif role == "worker":
        runner = env.create_worker_runner("127.0.0.1", int(cfg["master_port"]))
    else:
        runner = env.create_local_runner()
    env.events.request.add_listener(stream.on_request)
    env.events.init.fire(environment=env, runner=runner, web_ui=None)

    stop = Event()
    why: list[str] = []

    def finish(reason: str) -> None:
        if not stop.is_set():
            why.append(reason)
            stop.set()

    def watch_stdin() -> None:
        fd = sys.stdin.fileno()
        os.set_blocking(fd, False)
        buffer = b""
        while True:
            try:
                wait_read(fd)
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                finish("stop")
                return
            *lines, buffer = (buffer + data).split(b"\n")
            for line in lines:
                headers = decode(line)
                if headers is not None:
                    live.update(headers)
                elif line.strip() == b"stop":
                    finish("stop")
                    return

    def tick() -> None:
        parent = int(cfg["parent_pid"])
        lifetime = float(cfg["max_lifetime_s"])
        flush_s = float(cfg.get("flush_s", 0.25))
        while True:
            gevent.sleep(flush_s)
            stream.flush(int(getattr(runner, "user_count", 0)))
            if os.getppid() != parent:
                finish("orphan")
            elif time.monotonic() - started > lifetime:
                finish("lifetime")

    gevent.spawn(watch_stdin)
    gevent.spawn(tick)
    if role == "master":
        workers, deadline = int(cfg["workers"]), time.monotonic() + float(cfg["start_timeout_s"])
        while len(runner.clients.ready) < workers and not stop.is_set():
            if time.monotonic() > deadline:
                _fail(stream, f"only {len(runner.clients.ready)} of {workers} workers connected")
            gevent.sleep(0.1)
    if role != "worker":
        if env.shape_class is not None:
            runner.start_shape()
        else:
            runner.start(int(cfg["users"]), float(cfg["spawn_rate"]), wait=False)
    stream.send({"type": "ready", "role": role, "pid": os.getpid()})
    if role == "worker":  # the master told it to quit: its greenlets are gone

        def wait_runner() -> None:
            runner.greenlet.join()
            finish("runner ended")

        gevent.spawn(wait_runner)
    stop.wait()
    reason = why[0] if why else "stop"
    runner.quit()
    env.events.quitting.fire(environment=env, reverse=True)
    stream.flush(0)
    if reason == "lifetime":
        _fail_exit = f"max_lifetime ({cfg['max_lifetime_s']:g}s) reached: load stopped"
        stream.send({"type": "error", "message": _fail_exit})
        sys.stderr.write(f"chaoskit-locust: {_fail_exit}\n")
        sys.exit(EXIT_LIFETIME)
    if reason == "orphan":
        sys.exit(EXIT_ORPHAN)
    stream.send({"type": "stopped", "reason": reason})
    sys.exit(EXIT_OK)


if __name__ == "__main__":
    main()
