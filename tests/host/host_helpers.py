"""Helpers for the host plugin tests: real processes, /proc states, the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chaoskit.ports import free_port, wait_listening
from tests.conftest import wait_port

SERVER = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "server.py"  # a real demo service


def serving(port: int) -> bool:
    try:
        wait_port(port, timeout=0.1)
    except TimeoutError:
        return False
    return True


def proc_state(pid: int) -> str | None:
    """The state letter from /proc/<pid>/stat (R, S, T, Z...), or None when the pid is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_for(check: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    return proc_state(pid) in (None, "Z", "X")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def worker_pids(token_part: str = "") -> list[int]:
    """Live chaoskit_host stress workers (optionally only those whose command line holds ``token_part``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(argv).decode(errors="replace")
        if "chaoskit_host.worker" in text and token_part in text and not gone(int(entry.name)):
            found.append(int(entry.name))
    return found


@dataclass
class Sleepers:
    """Real ``sleep`` processes started through a uniquely named symlink (so name/cmdline match only them)."""

    name: str
    link: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int = 1) -> list[int]:
        new = [subprocess.Popen([str(self.link), "300"]) for _ in range(count)]
        self.procs.extend(new)
        # Popen returns once exec() has begun; the new command line shows up a moment later.
        wait_for(lambda: all(self.name.encode() in cmdline(p.pid) for p in new), what="sleepers to start")
        return [p.pid for p in new]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
            p.wait(timeout=10)


@dataclass
class ServerProcess:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """Its health endpoint."""
        return f"http://127.0.0.1:{self.port}/health"


def start_server(port: int | None = None) -> ServerProcess:
    """The quick start's server on ``port``, or on a port it binds itself (port 0, read from the kernel)."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), str(port or 0)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    if port:
        wait_port(port, timeout=30)
    else:
        port = wait_listening(proc, "the quick start's server", timeout=30)[0]
    return ServerProcess(port, proc)


def journal_of(out_dir: Path) -> dict[str, object]:
    journals = list(out_dir.rglob("journal.json"))
    assert len(journals) == 1, f"expected one journal under {out_dir}, found {journals}"
    data: dict[str, object] = json.loads(journals[0].read_text())
    return data


def chaoskit_cmd() -> str:
    return str(Path(sys.executable).with_name("chaoskit"))


def env() -> dict[str, str]:
    return dict(os.environ)


__all__ = ["free_port", "serving"]
