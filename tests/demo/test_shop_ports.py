"""The shop launcher chooses no port ahead: every service binds port 0 and reports the port it got. Tested with
real processes, including forced collisions (a port already taken when a service starts on it)."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from shop.launcher import BACKENDS, Shop, ShopError, ShopInfo

from chaoskit.ports import listening_ports
from tests.demo.test_shop import _alive, _toxiproxy_or_skip


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Shop, ShopInfo]]:
    _toxiproxy_or_skip()
    s = Shop(tmp_path)
    info = s.start()
    yield s, info
    s.stop()


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _service_pid(info: ShopInfo, name: str) -> int:
    return int(Path(info.pidfiles[name]).read_text())


def _processes_mentioning(path: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and _alive(int(proc.name)):
            try:
                if str(path).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue  # gone meanwhile
    return found


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as r:
        return int(r.status)


def test_every_reported_port_is_owned_by_the_process_it_names(shop: tuple[Shop, ShopInfo]) -> None:
    s, info = shop
    assert listening_ports(info.pids["storefront"]) == [_port(info.storefront_url)] == [s.port]
    for name in BACKENDS:
        assert listening_ports(_service_pid(info, name)) == [_port(info.upstreams[name])]
    # Toxiproxy listens on its API port and on each proxy's port, all of which it chose itself.
    proxies = {_port(info.backends[name]) for name in BACKENDS}
    assert set(listening_ports(info.pids["toxiproxy"])) == {_port(info.toxiproxy_url or "")} | proxies
    assert len(proxies) == len(BACKENDS)
    # The HTTP fault proxy listens on its control port and on payments' proxy port, both chosen by itself.
    engine = {_port(info.httpfault_url or ""), _port(info.httpfault["payments"])}
    assert set(listening_ports(info.pids["httpfault"])) == engine
    saved = json.loads((s.state_dir / "shop.json").read_text())
    assert saved["storefront_url"] == info.storefront_url and saved["backends"] == info.backends


def test_a_restarted_replica_keeps_its_port_and_waits_while_it_is_taken(shop: tuple[Shop, ShopInfo]) -> None:
    """Forced collision on a restart: the replica's port is taken while it is down. The supervisor keeps
    restarting it (each start fails: address in use) and it comes back on the same port once the port is free,
    so the proxy in front of it reaches it again."""
    _, info = shop
    name = "inventory-1"
    port = _port(info.upstreams[name])
    status_file = Path(info.statusfiles[name])
    os.kill(_service_pid(info, name), 9)
    with socket.socket() as thief:  # the supervisor waits 0.5 s before a restart: take the port meanwhile
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        end = time.monotonic() + 5
        while True:
            try:
                thief.bind(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < end, "the killed replica's port never became free"
                time.sleep(0.01)
        thief.listen()
        restarts_then = json.loads(status_file.read_text())["restarts"]
        end = time.monotonic() + 20
        while json.loads(status_file.read_text())["restarts"] < restarts_then + 2 and time.monotonic() < end:
            time.sleep(0.1)
        assert json.loads(status_file.read_text())["restarts"] >= restarts_then + 2  # a start failed, at least one
        log = (Path(info.pidfiles[name]).parent.parent / "logs" / f"supervisor-{name}.log").read_text()
        assert "Address already in use" in log
    end = time.monotonic() + 20
    while time.monotonic() < end and listening_ports(_service_pid(info, name)) != [port]:
        time.sleep(0.1)
    assert listening_ports(_service_pid(info, name)) == [port]
    assert _get(f"{info.backends[name]}/health") == 200  # through its proxy, unchanged


def test_a_storefront_port_already_taken_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    """Forced collision on a first start: the port asked for (``--port``) is held by someone else."""
    _toxiproxy_or_skip()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        s = Shop(tmp_path, port=holder.getsockname()[1])
        with pytest.raises(ShopError, match=r"storefront: the process exited with 1 before it listened"):
            s.start()
    assert s.procs == []
    end = time.monotonic() + 10
    while _processes_mentioning(tmp_path) and time.monotonic() < end:
        time.sleep(0.1)
    assert _processes_mentioning(tmp_path) == []  # supervisors and replicas included (their argv names tmp_path)
    assert "Address already in use" in (tmp_path / "logs" / "storefront.log").read_text()
