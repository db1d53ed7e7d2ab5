"""Find the engine, start and stop an HTTP fault proxy process (mitmdump with :mod:`chaoskit_httpfault.engine`).

The engine is mitmproxy in its own virtualenv (see the README for why): ``$HTTPFAULT_PYTHON`` names its python,
else the cache where ``scripts/setup-httpfault.sh`` installs it
(``${CHAOSKIT_CACHE:-~/.cache/chaoskit}/httpfault/mitmproxy-<version>/bin/python``). The control API binds
port 0 unless told otherwise; the engine writes the port it got to a file, so there is no port race.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from chaoskit.errors import PluginError
from chaoskit.servers import ServerProcess, cache_dir, executable_from_env
from chaoskit_httpfault.client import HttpFaultClient, HttpFaultError

MITMPROXY_VERSION = "11.0.2"
ENGINE = Path(__file__).with_name("engine.py")
# Never contacted: the engine answers every request on the control listener itself.
CONTROL_UPSTREAM = "http://127.0.0.1:9"


def find_engine_python(version: str = MITMPROXY_VERSION) -> Path:
    """The python of the engine's virtualenv. Raises PluginError saying how to install it."""
    explicit = executable_from_env("HTTPFAULT_PYTHON")
    if explicit is not None:
        return explicit
    cached = cache_dir() / "httpfault" / f"mitmproxy-{version}"
    if (cached / ".ready").exists() and (cached / "bin" / "python").exists():
        return cached / "bin" / "python"
    raise PluginError(
        f"the HTTP fault proxy engine (mitmproxy {version}) is not installed (looked at $HTTPFAULT_PYTHON and "
        f"{cached}); run scripts/setup-httpfault.sh"
    )


def engine_command(
    python: Path, host: str, port: int, ready_file: str = "", upstream_ca: Path | None = None
) -> list[str]:
    """The mitmdump command line of an engine whose control API listens on host:port."""
    control = f"reverse:{CONTROL_UPSTREAM}@{host}:{port}"
    command = [str(python.with_name("mitmdump")), "--quiet", "--scripts", str(ENGINE), "--mode", control]
    for option in (
        f"httpfault_control={control}",
        f"httpfault_ready={ready_file}",
        "connection_strategy=lazy",  # an aborted request never opens a connection upstream
        "keep_host_header=true",  # the engine matches the client's Host, then rewrites it itself
        "stream_large_bodies=1m",
        "termlog_verbosity=warn",
    ):
        command += ["--set", option]
    if upstream_ca is not None:  # trust this CA (PEM) for TLS to the upstreams, besides the system's
        command += ["--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}"]
    return command


class HttpFaultServer(ServerProcess):
    """An HTTP fault proxy child process; control API on ``127.0.0.1:port`` (port 0: any free one)."""

    what = "the HTTP fault proxy"

    def __init__(
        self,
        port: int = 0,
        python: Path | None = None,
        startup_timeout: float = 30.0,
        upstream_ca: Path | None = None,
    ) -> None:
        super().__init__(startup_timeout)
        self.python = python
        self.upstream_ca = upstream_ca
        self.port = port

    @property
    def url(self) -> str:
        if not self.port:
            raise PluginError("the HTTP fault proxy is not started")
        return f"http://127.0.0.1:{self.port}"

    def client(self, timeout: float = 5.0) -> HttpFaultClient:
        return HttpFaultClient(self.url, timeout)

    def start(self) -> HttpFaultServer:
        """Start the engine; return once its control API answers on the port it wrote to its ready file."""
        python = self.python or find_engine_python()
        fd, name = tempfile.mkstemp(prefix="httpfault-", suffix=".port")
        os.close(fd)
        ready = Path(name)
        ready.unlink()  # the engine writes it once it listens
        self.temp_files.append(ready)
        self.spawn(engine_command(python, "127.0.0.1", self.port, str(ready), self.upstream_ca), "httpfault-")
        try:
            self.wait_ready(lambda: self._answers(ready))
        except BaseException:
            self.stop()
            raise
        return self

    def _answers(self, ready: Path) -> bool:
        if not ready.exists():
            return False
        self.port = int(ready.read_text())
        try:
            self.client(timeout=2.0).version()
        except HttpFaultError:
            return False
        return True


def main(argv: list[str] | None = None) -> int:
    """``chaoskit-httpfault-server``: run an HTTP fault proxy in the foreground (until Ctrl-C / SIGTERM)."""
    parser = argparse.ArgumentParser(prog="chaoskit-httpfault-server", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address of the control API (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8475, help="port of the control API (default 8475)")
    parser.add_argument("--upstream-ca", type=Path, help="a CA certificate (PEM) to trust for TLS upstreams")
    args = parser.parse_args(argv)
    try:
        python = find_engine_python()
    except PluginError as exc:
        print(f"chaoskit-httpfault-server: {exc}", file=sys.stderr)
        return 4
    command = engine_command(python, args.host, args.port, upstream_ca=args.upstream_ca)
    print(f"HTTP fault proxy: control API on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    os.execv(command[0], command)
