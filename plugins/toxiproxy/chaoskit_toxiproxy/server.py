"""Find, start and stop a real ``toxiproxy-server`` on a loopback port it chose itself (port 0).

Used by the test fixtures, the benchmark, the demo and the pytest fixture. The binary is looked up in
``$TOXIPROXY_SERVER``, then in the cache where ``scripts/setup-toxiproxy.sh`` installs it
(``${CHAOSKIT_CACHE:-~/.cache/chaoskit}/toxiproxy/<version>/bin``), then on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from chaoskit.errors import PluginError
from chaoskit.ports import NotListening, wait_listening
from chaoskit_toxiproxy.client import ToxiproxyClient, ToxiproxyError

VERSION = "v2.12.0"


def cache_dir() -> Path:
    return Path(os.environ.get("CHAOSKIT_CACHE") or Path.home() / ".cache" / "chaoskit")


def find_server_binary(version: str = VERSION) -> Path:
    """The toxiproxy-server binary to run. Raises PluginError saying how to install it."""
    explicit = os.environ.get("TOXIPROXY_SERVER")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise PluginError(f"TOXIPROXY_SERVER={explicit} is not an executable file")
        return path
    cached = cache_dir() / "toxiproxy" / version / "bin" / "toxiproxy-server"
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    found = shutil.which("toxiproxy-server")
    if found:
        return Path(found)
    raise PluginError(
        f"toxiproxy-server {version} is not installed (looked at $TOXIPROXY_SERVER, {cached} and PATH); "
        "run scripts/setup-toxiproxy.sh (go install github.com/Shopify/toxiproxy/v2/cmd/server@" + version + ")"
    )


class ToxiproxyServer:
    """A toxiproxy-server child process on ``127.0.0.1:port``. Use as a context manager, or start()/stop()."""

    def __init__(self, port: int | None = None, binary: Path | None = None, startup_timeout: float = 15.0) -> None:
        self.binary = binary
        self.port = port
        self.fixed_port = port
        """The port asked for; None: the server binds port 0 and :attr:`port` is the one it got."""
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise PluginError("the Toxiproxy server is not started")
        return f"http://127.0.0.1:{self.port}"

    def client(self, timeout: float = 5.0) -> ToxiproxyClient:
        return ToxiproxyClient(self.url, timeout)

    def start(self) -> ToxiproxyServer:
        """Start the server and return once ``/version`` answers. Without a fixed port the server binds port 0
        and the port it got is read from the kernel (:func:`chaoskit.ports.wait_listening`): no race."""
        binary = self.binary or find_server_binary()
        self.port = self.fixed_port
        fd, log = tempfile.mkstemp(prefix="toxiproxy-", suffix=".log")
        self.log_path = Path(log)
        with os.fdopen(fd, "wb") as out:
            self.process = subprocess.Popen(
                [str(binary), "-host", "127.0.0.1", "-port", str(self.port or 0)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C meant for the test run does not kill it first
            )
        try:
            if self.port is None:
                self.port = wait_listening(self.process, "toxiproxy-server", self.startup_timeout)[0]
            self._wait_ready()
        except NotListening as exc:
            tail = self.log_tail()
            self.stop()
            raise PluginError(f"{exc}: {tail}") from exc
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        client = ToxiproxyClient(self.url, timeout=1.0)
        end = time.monotonic() + self.startup_timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise PluginError(f"toxiproxy-server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                client.version()
                return
            except ToxiproxyError:
                time.sleep(0.02)
        raise PluginError(f"toxiproxy-server did not answer on {self.url} within {self.startup_timeout:g}s")

    def log_tail(self, chars: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:].strip()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL). Idempotent."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> ToxiproxyServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
