"""One Locust child process, seen from the runner: spawn, read its JSON lines, stop it (bounded)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from chaoskit_locust.interpreter import child_command

STDERR_TAIL = 4000


class Child:
    """Spawned from its own reader thread, which lives until the child exits, so that the child's
    ``PR_SET_PDEATHSIG`` (tied to the spawning thread) fires only when the runner process dies."""

    def __init__(
        self, role: str, config: dict[str, Any], cwd: Path, on_message: Callable[[Child, dict[str, Any]], None]
    ) -> None:
        self.role = role
        self.config = config
        self.cwd = cwd
        self.on_message = on_message
        self.command = child_command()  # raises PluginError (with what to do) when there is no Locust to run
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] = tempfile.TemporaryFile(prefix="chaoskit-locust-")  # noqa: SIM115 - closed in close()
        self.spawned = threading.Event()
        self.ready = threading.Event()
        self.exited = threading.Event()
        self.stopping = False
        self.spawn_error: BaseException | None = None
        self.error: str | None = None
        self.last_seen = time.monotonic()
        self._stdin_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"chaoskit: locust {role}", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.spawned.wait(30)
        if self.spawn_error is not None:
            raise self.spawn_error

    def _run(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            env = {
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "CHAOSKIT_LOCUST_CONFIG": json.dumps({**self.config, "fd": write_fd, "parent_pid": os.getpid()}),
            }
            self.proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=self.log,
                stderr=self.log,
                cwd=self.cwd,
                env=env,
                pass_fds=(write_fd,),
            )
        except BaseException as exc:
            self.spawn_error = exc
            os.close(read_fd)
            return
        finally:
            os.close(write_fd)
            self.spawned.set()
        try:
            with os.fdopen(read_fd, "rb") as lines:
                for line in lines:
                    self.last_seen = time.monotonic()
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue
                    if message.get("type") == "ready":
                        self.ready.set()
                    elif message.get("type") == "error":
                        self.error = str(message.get("message"))
                    self.on_message(self, message)
            self.proc.wait()
        finally:
            self.exited.set()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def stderr_tail(self, limit: int = STDERR_TAIL) -> str:
        try:
            size = self.log.seek(0, os.SEEK_END)
            self.log.seek(max(0, size - limit))
            return self.log.read().decode("utf-8", errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def describe_exit(self) -> str:
        code = self.returncode
        what = f"exited with code {code}" if code is not None and code >= 0 else f"was killed by signal {-(code or 0)}"
        head = f"the locust {self.role} child (pid {self.pid}) {what}"
        if self.error:
            head += f": {self.error}"
        tail = self.stderr_tail()
        return f"{head}\n--- its stderr (last lines) ---\n{tail}" if tail else head

    def send_line(self, line: bytes) -> bool:
        """Write one control line to the child's stdin; False if it is gone or stopping."""
        with self._stdin_lock:
            if self.stopping or self.proc is None or self.proc.stdin is None:
                return False
            try:
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
            except (OSError, ValueError):
                return False
            return True

    def request_stop(self) -> None:
        with self._stdin_lock:
            self.stopping = True
            if self.proc is None or self.proc.stdin is None:
                return
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.write(b"stop\n")
                self.proc.stdin.flush()
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.close()

    def wait_exit(self, timeout: float) -> bool:
        return self.exited.wait(timeout) if self.proc is not None else True

    def kill(self, grace: float = 2.0) -> None:
        """SIGTERM, then SIGKILL; bounded."""
        self.stopping = True
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(grace)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.log.close()
