"""Server child processes a plugin starts for tests, benchmarks and the demo (Toxiproxy, the HTTP fault proxy).

:class:`ServerProcess` is what they share: the process on 127.0.0.1 with its output in a temporary log file
(whose tail goes into every error), a bounded wait until it answers, and a stop that always ends it (SIGTERM,
then SIGKILL) and removes its files. A plugin's server class says how to start its program and how to tell it
is ready. :func:`cache_dir` and :func:`executable_from_env` find what ``scripts/setup-*.sh`` installed.
Nothing here runs at import.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from chaoskit.errors import PluginError


def cache_dir() -> Path:
    """Where the setup scripts install what the tests, benchmarks and the demo run: ``$CHAOSKIT_CACHE``, else
    ``~/.cache/chaoskit``."""
    return Path(os.environ.get("CHAOSKIT_CACHE") or Path.home() / ".cache" / "chaoskit")


def executable_from_env(variable: str) -> Path | None:
    """The executable the environment variable names; None when it is unset or empty. Raises PluginError when it
    names anything but an executable file."""
    value = os.environ.get(variable)
    if not value:
        return None
    path = Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise PluginError(f"{variable}={value} is not an executable file")
    return path


class ServerProcess(ABC):
    """A server child process. Use as a context manager, or :meth:`start` / :meth:`stop` (idempotent)."""

    what = "the server"
    """How messages name it."""

    def __init__(self, startup_timeout: float) -> None:
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.temp_files: list[Path] = []
        """Files of this process (besides the log) that :meth:`stop` removes."""

    @abstractmethod
    def start(self) -> Self:
        """Start the program (:meth:`spawn`) and return once it answers (:meth:`wait_ready`)."""

    def spawn(self, command: list[str], log_prefix: str) -> subprocess.Popen[bytes]:
        """Start ``command`` in a session of its own (a Ctrl-C meant for a test run does not kill it first),
        stdout and stderr to a new temporary log file."""
        fd, log = tempfile.mkstemp(prefix=log_prefix, suffix=".log")
        self.log_path = Path(log)
        with os.fdopen(fd, "wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        return self.process

    def wait_ready(self, ready: Callable[[], bool], where: str = "") -> None:
        """Poll ``ready()`` until it is true. Raises PluginError, with the log's tail, when the process exits or
        ``startup_timeout`` passes first; ``where`` (e.g. " on http://...") goes into that message."""
        assert self.process is not None
        end = time.monotonic() + self.startup_timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise PluginError(f"{self.what} exited with {self.process.returncode}: {self.log_tail()}")
            if ready():
                return
            time.sleep(0.02)
        raise PluginError(f"{self.what} did not answer{where} within {self.startup_timeout:g}s: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:].strip()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and remove its files. Idempotent."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        for path in [self.log_path, *self.temp_files]:
            if path is not None:
                path.unlink(missing_ok=True)
        self.log_path = None
        self.temp_files = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
