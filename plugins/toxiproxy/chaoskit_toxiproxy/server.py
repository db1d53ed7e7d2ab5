"""Find, start and stop a real ``toxiproxy-server`` on a loopback port it chose itself (port 0).

Used by the test fixtures and the benchmarks (the demo shop finds the binary with :func:`find_server_binary`
and starts it itself). The binary is looked up in ``$TOXIPROXY_SERVER``, then in the cache where
``scripts/setup-toxiproxy.sh`` installs it (``${CHAOSKIT_CACHE:-~/.cache/chaoskit}/toxiproxy/<version>/bin``),
then on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from chaoskit.errors import PluginError
from chaoskit.ports import NotListening, wait_listening
from chaoskit.servers import ServerProcess, cache_dir, executable_from_env
from chaoskit_toxiproxy.client import ToxiproxyClient, ToxiproxyError

VERSION = "v2.12.0"


def find_server_binary(version: str = VERSION) -> Path:
    """The toxiproxy-server binary to run. Raises PluginError saying how to install it."""
    explicit = executable_from_env("TOXIPROXY_SERVER")
    if explicit is not None:
        return explicit
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


class ToxiproxyServer(ServerProcess):
    """A toxiproxy-server child process on ``127.0.0.1:port``. Use as a context manager, or start()/stop()."""

    what = "toxiproxy-server"

    def __init__(self, port: int | None = None, binary: Path | None = None, startup_timeout: float = 15.0) -> None:
        super().__init__(startup_timeout)
        self.binary = binary
        self.port = port
        self.fixed_port = port
        """The port asked for; None: the server binds port 0 and :attr:`port` is the one it got."""

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
        process = self.spawn([str(binary), "-host", "127.0.0.1", "-port", str(self.port or 0)], "toxiproxy-")
        try:
            if self.port is None:
                self.port = wait_listening(process, "toxiproxy-server", self.startup_timeout)[0]
            self.wait_ready(self._answers, f" on {self.url}")
        except NotListening as exc:
            tail = self.log_tail()
            self.stop()
            raise PluginError(f"{exc}: {tail}") from exc
        except BaseException:
            self.stop()
            raise
        return self

    def _answers(self) -> bool:
        try:
            ToxiproxyClient(self.url, timeout=1.0).version()
        except ToxiproxyError:
            return False
        return True
