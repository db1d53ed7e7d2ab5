"""Start and stop the whole shop: Toxiproxy, the HTTP fault proxy, the supervised inventory replicas and payments,
the storefront.

    python -m shop                       # run in the foreground until Ctrl-C / SIGTERM
    python -m shop --port 8080 --state-dir .shop

Topology (every dependency call crosses a Toxiproxy proxy, so a game day can slow it down or cut it)::

    shopper -> storefront -> [proxy inventory-1] -> inventory replica 1   (supervised: restarted when it dies)
                          -> [proxy inventory-2] -> inventory replica 2   (supervised)
                          -> [HTTP fault proxy payments] -> [proxy payments] -> payments   (supervised)

The HTTP fault proxy (chaoskit-httpfault, its engine installed by scripts/setup-httpfault.sh) sits in front of
payments' Toxiproxy proxy, so experiments can inject both HTTP faults (a 503 for some checkouts) and TCP faults.

Ports: nothing is chosen ahead. Every service binds port 0 and reports the port it got: the shop's services in
``state_dir/run/<name>.port`` (a restarted replica binds the same port again), Toxiproxy's API is read from the
kernel (:func:`chaoskit.ports.wait_listening`), and each proxy listens on ``127.0.0.1:0`` and Toxiproxy answers
with the address it got. ``state_dir/shop.json`` lists the URLs, ports and pidfiles; :meth:`Shop.env` gives
them as environment variables (``SHOP_URL``, ``TOXIPROXY_URL``, ...) for experiments' ``configuration``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chaoskit.ports import NotListening, free_port, wait_listening

BACKENDS = ("inventory-1", "inventory-2", "payments")


class ShopError(Exception):
    pass


def find_toxiproxy() -> str:
    """The toxiproxy-server binary, found as chaoskit-toxiproxy finds it ($TOXIPROXY_SERVER, the cache that
    scripts/setup-toxiproxy.sh installs into, PATH)."""
    from chaoskit.errors import PluginError

    try:
        from chaoskit_toxiproxy.server import find_server_binary

        return str(find_server_binary())
    except (ImportError, PluginError) as exc:
        raise ShopError(f"{exc} (or start the shop with --no-toxiproxy)") from None


def httpfault_command(port_file: Path) -> list[str]:
    """The HTTP fault proxy's command line (control API on a free port, written to ``port_file``)."""
    from chaoskit.errors import PluginError

    try:
        from chaoskit_httpfault.server import engine_command, find_engine_python

        return engine_command(find_engine_python(), "127.0.0.1", 0, str(port_file))
    except (ImportError, PluginError) as exc:
        raise ShopError(f"{exc} (or start the shop with --no-httpfault)") from None


def _http(method: str, url: str, body: Any = None, timeout: float = 5.0) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    end = time.monotonic() + timeout
    last = ""
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise ShopError(f"{url}: the process exited with {proc.returncode} before it answered")
        try:
            _http("GET", url, timeout=1.0)
            return
        except Exception as exc:
            last = str(exc)
            time.sleep(0.05)
    raise ShopError(f"{url} did not answer within {timeout:g}s ({last})")


def wait_port_file(path: Path, timeout: float, proc: subprocess.Popen[bytes], what: str) -> int:
    """The port a service wrote to ``path`` once it listened (see ``shop.httpkit.listen``)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise ShopError(f"{what}: the process exited with {proc.returncode} before it listened")
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if text:
            return int(text)
        time.sleep(0.02)
    raise ShopError(f"{what} did not listen within {timeout:g}s (no port in {path})")


def _die_with_launcher() -> None:
    # In the child between fork and exec: SIGTERM when the launcher dies, even by SIGKILL (no orphans).
    # Applies to toxiproxy-server too, which cannot arrange it itself.
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class ShopInfo:
    storefront_url: str
    toxiproxy_url: str | None
    backends: dict[str, str] = field(default_factory=dict)
    """Backend name -> its Toxiproxy proxy's URL (a proxy's listen address, or the service itself)."""
    httpfault_url: str | None = None
    httpfault: dict[str, str] = field(default_factory=dict)
    """Backend name -> its HTTP fault proxy's URL (payments only), in front of ``backends[name]``."""
    upstreams: dict[str, str] = field(default_factory=dict)
    """Backend name -> host:port the service listens on (a proxy's upstream)."""
    pidfiles: dict[str, str] = field(default_factory=dict)
    statusfiles: dict[str, str] = field(default_factory=dict)
    spans_dir: str = ""
    otlp_receive: str = ""
    """HOST:PORT the services also export their spans to (OTLP/HTTP): the address of the receiver that the
    experiments judging spans start (``tracing.receive``). Chosen ahead, since the services need it at start."""
    launcher_pid: int = 0
    pids: dict[str, int] = field(default_factory=dict)
    """Processes the launcher started (toxiproxy, supervisors, storefront); each supervisor's service is in
    its pidfile."""


class Shop:
    def __init__(
        self,
        state_dir: Path,
        port: int = 0,
        toxiproxy: bool = True,
        startup_timeout: float = 30.0,
        httpfault: bool = True,
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.port = port
        """The storefront's port: the one asked for, or (0) the one it got, known once started."""
        self.use_toxiproxy = toxiproxy
        self.use_httpfault = httpfault
        self.startup_timeout = startup_timeout
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.info: ShopInfo | None = None
        self._logs: list[Any] = []
        self.otlp_receive = ""

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        # Own session: a terminal's Ctrl-C reaches the launcher (and chaoskit, which reverts first), not the shop,
        # which is stopped last, in order. PR_SET_PDEATHSIG still takes it down if the launcher is killed.
        log = (self.state_dir / "logs" / f"{name}.log").open("ab")
        self._logs.append(log)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": os.environ.get("TOXIPROXY_LOG_LEVEL", "warn")}
        if self.otlp_receive:  # spans also go to the OTLP receiver an experiment opens (none between experiments)
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{self.otlp_receive}"
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_launcher,
        )
        self.procs.append((name, proc))
        return proc

    def start(self) -> ShopInfo:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> ShopInfo:
        for sub in ("logs", "run", "spans"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        py = sys.executable
        spans = self.state_dir / "spans"
        run = self.state_dir / "run"
        for stale in run.glob("*.port"):
            stale.unlink()  # a port file names the port a restarted service binds again: start afresh
        # Chosen ahead (chaoskit.ports.free_port, the one racy helper): the services need it when they start, and
        # the receiver listens only while an experiment that judges spans runs.
        self.otlp_receive = f"127.0.0.1:{free_port()}"
        info = ShopInfo(
            storefront_url="",
            toxiproxy_url=None,
            spans_dir=str(spans),
            otlp_receive=self.otlp_receive,
            launcher_pid=os.getpid(),
        )
        if self.use_toxiproxy:
            proxy = self._spawn("toxiproxy", [find_toxiproxy(), "-host", "127.0.0.1", "-port", "0"])
            try:
                api_port = wait_listening(proxy, "toxiproxy-server", self.startup_timeout)[0]
            except NotListening as exc:
                raise ShopError(f"{exc} (log: {self.state_dir / 'logs' / 'toxiproxy.log'})") from exc
            info.toxiproxy_url = f"http://127.0.0.1:{api_port}"
            wait_http(f"{info.toxiproxy_url}/version", self.startup_timeout, proxy)
        if self.use_httpfault:
            engine = self._spawn("httpfault", httpfault_command(run / "httpfault.port"))
            api_port = wait_port_file(run / "httpfault.port", self.startup_timeout, engine, "the HTTP fault proxy")
            info.httpfault_url = f"http://127.0.0.1:{api_port}"
            wait_http(f"{info.httpfault_url}/version", self.startup_timeout, engine)
        supervisors: dict[str, subprocess.Popen[bytes]] = {}
        for name in BACKENDS:
            pidfile, status = run / f"{name}.pid", run / f"{name}.json"
            info.pidfiles[name], info.statusfiles[name] = str(pidfile), str(status)
            if name.startswith("inventory"):
                service = ["-m", "shop.inventory", "--replica", name]
            else:
                service = ["-m", "shop.payments"]
            supervisors[name] = self._spawn(
                f"supervisor-{name}",
                [
                    py,
                    "-m",
                    "shop.supervisor",
                    "--name",
                    name,
                    "--pidfile",
                    str(pidfile),
                    "--status",
                    str(status),
                    "--",
                    py,
                    *service,
                    "--port-file",
                    str(run / f"{name}.port"),
                    "--spans",
                    str(spans / f"{name}.jsonl"),
                ],
            )
        for name in BACKENDS:
            port = wait_port_file(run / f"{name}.port", self.startup_timeout, supervisors[name], name)
            info.upstreams[name] = f"127.0.0.1:{port}"
            wait_http(f"http://{info.upstreams[name]}/health", self.startup_timeout)
            if info.toxiproxy_url:
                created = _http(
                    "POST",
                    f"{info.toxiproxy_url}/proxies",
                    {"name": name, "listen": "127.0.0.1:0", "upstream": info.upstreams[name], "enabled": True},
                )
                info.backends[name] = f"http://{created['listen']}"  # the address Toxiproxy got
            else:
                info.backends[name] = f"http://{info.upstreams[name]}"
            if info.httpfault_url and name == "payments":
                created = _http(
                    "POST",
                    f"{info.httpfault_url}/proxies",
                    {"name": name, "listen": "127.0.0.1:0", "upstream": info.backends[name]},
                )
                info.httpfault[name] = f"http://{created['listen']}"  # the port the HTTP fault proxy got
        front = self._spawn(
            "storefront",
            [
                py,
                "-m",
                "shop.storefront",
                "--port",
                str(self.port),
                "--port-file",
                str(run / "storefront.port"),
                "--inventory",
                info.backends["inventory-1"],
                "--inventory",
                info.backends["inventory-2"],
                "--payments",
                info.httpfault.get("payments", info.backends["payments"]),
                "--spans",
                str(spans / "storefront.jsonl"),
            ],
        )
        self.port = wait_port_file(run / "storefront.port", self.startup_timeout, front, "storefront")
        info.storefront_url = f"http://127.0.0.1:{self.port}"
        wait_http(f"{info.storefront_url}/health", self.startup_timeout, front)
        wait_http(f"{info.storefront_url}/products", self.startup_timeout, front)  # warms the inventory cache
        info.pids = {name: proc.pid for name, proc in self.procs}
        self.info = info
        (self.state_dir / "shop.json").write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
        return info

    def env(self) -> dict[str, str]:
        """Environment variables the shop's experiments read in their ``configuration``."""
        assert self.info is not None, "start the shop first"
        info = self.info
        env = {"SHOP_URL": info.storefront_url, "SHOP_STATE_DIR": str(self.state_dir), "SHOP_OTLP": info.otlp_receive}
        if info.toxiproxy_url:
            env["TOXIPROXY_URL"] = info.toxiproxy_url
        if info.httpfault_url:
            env["HTTPFAULT_URL"] = info.httpfault_url
        for name in BACKENDS:
            key = name.upper().replace("-", "_")
            env[f"{key}_PIDFILE"] = info.pidfiles[name]
            env[f"{key}_UPSTREAM"] = info.upstreams[name]
            env[f"{key}_URL"] = f"http://{info.upstreams[name]}"  # the service itself, bypassing its proxy
        return env

    def stop(self, timeout: float = 10.0) -> None:
        """Stop everything started, newest first: SIGTERM, then SIGKILL after ``timeout``. Idempotent."""
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        end = time.monotonic() + timeout
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> ShopInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shop", description="Run the demo shop until Ctrl-C / SIGTERM.")
    parser.add_argument("--port", type=int, default=0, help="storefront port (default: a free one)")
    parser.add_argument("--state-dir", type=Path, default=Path(".shop"), help="logs, pidfiles, spans, shop.json")
    parser.add_argument("--no-toxiproxy", action="store_true", help="call the services directly (no proxies)")
    parser.add_argument("--no-httpfault", action="store_true", help="no HTTP fault proxy in front of payments")
    args = parser.parse_args(argv)
    shop = Shop(args.state_dir, args.port, toxiproxy=not args.no_toxiproxy, httpfault=not args.no_httpfault)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C works even if started with SIGINT ignored (`&`)
    try:
        shop.start()
        print(json.dumps(shop.env(), indent=2), flush=True)
        print("shop is up; Ctrl-C stops it", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except ShopError as exc:
        print(f"shop: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second Ctrl-C / SIGTERM must not cut the stop short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        shop.stop()


if __name__ == "__main__":
    main()
