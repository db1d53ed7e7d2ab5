"""Reading processes and listening sockets from ``/proc`` (Linux). Standard library only.

A process is identified by its pid *and* its start time (field 22 of ``/proc/<pid>/stat``, clock
ticks since boot): a pid can be reused by a new process, the pair cannot. Every signal this plugin
sends goes through :func:`signal_identity`, which checks the pair first.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp{,6}
_PF_KTHREAD = 0x00200000  # in the flags field of /proc/<pid>/stat
_SECRET_ARG = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[-_]?key|credential)s?")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    starttime: int
    comm: str
    cmdline: tuple[str, ...]
    flags: int = 0

    @property
    def kernel_thread(self) -> bool:
        return bool(self.flags & _PF_KTHREAD)

    @property
    def command(self) -> str:
        """The command line as one string (``[comm]`` for kernel threads)."""
        return " ".join(self.cmdline) if self.cmdline else f"[{self.comm}]"

    @property
    def alive(self) -> bool:
        """Running, sleeping or stopped: not a zombie or dead entry waiting to be reaped."""
        return self.state not in ("Z", "X", "x")

    def identity(self) -> dict[str, int]:
        return {"pid": self.pid, "starttime": self.starttime}

    def shown(self) -> dict[str, object]:
        """What the revert info, journal and ``--dry-run`` show: identity plus a masked command line."""
        shown = masked_command(self.cmdline) if self.cmdline else f"[{self.comm}]"
        return {**self.identity(), "name": self.comm, "cmdline": shown}


def masked_command(argv: tuple[str, ...] | list[str], limit: int = 300) -> str:
    """The command line for journals: values of arguments that look like secrets become ``***``."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        key, eq, _value = arg.partition("=")
        if _SECRET_ARG.search(key) and key.startswith("-"):
            if eq:
                out.append(f"{key}=***")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(arg)
    text = " ".join(out)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_proc(pid: int) -> Proc | None:
    """The process ``pid``, or None when it does not exist (or vanished while being read)."""
    base = PROC / str(pid)
    try:
        stat = (base / "stat").read_text(encoding="utf-8", errors="replace")
        raw_cmdline = (base / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # "pid (comm) state ppid ..." -- comm may hold spaces and parentheses: split at the last ')'.
    open_at, close_at = stat.find("("), stat.rfind(")")
    if open_at < 0 or close_at < 0:
        return None
    comm = stat[open_at + 1 : close_at]
    rest = stat[close_at + 2 :].split()
    if len(rest) < 20:
        return None
    cmdline = tuple(a.decode(errors="replace") for a in raw_cmdline.split(b"\0") if a)
    return Proc(
        pid=pid,
        ppid=int(rest[1]),
        state=rest[0],
        starttime=int(rest[19]),
        comm=comm,
        cmdline=cmdline,
        flags=int(rest[6]),
    )


def iter_procs() -> Iterator[Proc]:
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            proc = read_proc(int(entry.name))
            if proc is not None:
                yield proc


def same_process(pid: int, starttime: int) -> Proc | None:
    """The process if ``pid`` still is the process that started at ``starttime``, else None."""
    proc = read_proc(pid)
    if proc is None or proc.starttime != starttime:
        return None
    return proc


def signal_identity(pid: int, starttime: int, sig: int) -> bool:
    """Send ``sig`` only if the pid still belongs to the same process. True if it was sent."""
    proc = same_process(pid, starttime)
    if proc is None or not proc.alive:
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child (so it does not linger as a zombie)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_gone(pid: int, starttime: int, timeout: float, reap_child: bool = False) -> bool:
    """Wait until the process has exited (a zombie counts as exited). True if gone in time.
    ``reap_child``: also collect it if it is our own child (only for processes this plugin started)."""
    end = time.monotonic() + timeout
    while True:
        if reap_child:
            reap(pid)
        proc = same_process(pid, starttime)
        if proc is None or not proc.alive:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)


def wait_state(pid: int, starttime: int, stopped: bool, timeout: float) -> bool:
    """Wait until the process is stopped (state T) or no longer stopped. True when reached (or gone)."""
    end = time.monotonic() + timeout
    while True:
        proc = same_process(pid, starttime)
        if proc is None or not proc.alive or (proc.state == "T") == stopped:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)


def ancestors(pid: int | None = None) -> set[int]:
    """``pid`` (default: this process) and every process above it, up to pid 1."""
    found: set[int] = set()
    current = os.getpid() if pid is None else pid
    while current > 0 and current not in found:
        found.add(current)
        proc = read_proc(current)
        if proc is None:
            break
        current = proc.ppid
    return found


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    inode: int


def _decode_address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # IPv6: four 32-bit words, each in host (little-endian) byte order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped or address)


def listeners(port: int | None = None) -> list[Listener]:
    """TCP sockets in LISTEN state (IPv4 and IPv6), optionally only those on ``port``."""
    found: list[Listener] = []
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text(encoding="ascii").splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != _LISTEN:
                continue
            hex_addr, hex_port = cols[1].split(":")
            local_port = int(hex_port, 16)
            if port is None or local_port == port:
                found.append(Listener(_decode_address(hex_addr), local_port, int(cols[9])))
    return found


def socket_owners(inodes: set[int]) -> set[int]:
    """Pids of the processes holding any of these socket inodes open (needs permission to read their fds)."""
    wanted = {f"socket:[{inode}]" for inode in inodes if inode}
    owners: set[int] = set()
    if not wanted:
        return owners
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except (FileNotFoundError, PermissionError, ProcessLookupError, NotADirectoryError):
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    owners.add(int(entry.name))
                    break
            except OSError:
                continue
    return owners


def mem_available_mib() -> int:
    for line in (PROC / "meminfo").read_text(encoding="ascii").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    raise OSError("/proc/meminfo has no MemAvailable line")
