"""Loopback ports without races.

Handing out a port number by binding port 0, closing the socket and passing the number on is a race: until
the service binds it, the kernel may give the same number to anyone else who asks for port 0 (the demo's
storefront and an inventory replica once got the same one). So the rule here is: **a service binds port 0
itself and reports the port it got**. Three ways, in order of preference:

1. A program we write binds port 0 and reports the port (the demo shop's services write it to a file; the
   locust master sends it on its message stream).
2. A program that listens but cannot report (``toxiproxy-server -port 0``): start it on port 0 and read the
   port it listens on from the kernel with :func:`wait_listening` (Linux: ``/proc/<pid>/net/tcp`` and the
   process's socket file descriptors).
3. Only where a number must be chosen before the program starts (a config file that needs it, a program
   that rejects port 0): :func:`free_port`, the one bind-and-close helper, and the caller retries on a clash.

Nothing here runs at import.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from chaoskit.errors import ChaosKitError

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column


class NotListening(ChaosKitError):
    """A service process exited, or did not listen within its startup timeout."""

    exit_code = 4


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago. Racy by nature: only for a program that cannot listen on port 0
    and report it (see the module docstring); the caller must retry with another port on a clash."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def cannot_listen(address: str) -> str | None:
    """Why a server on this machine could not listen on ``address`` ("host:port") now, or None when it could.
    Bind (with SO_REUSEADDR, as servers do, so a port in TIME_WAIT is not "in use") and close at once: no side
    effect. Port 0 always can."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    try:
        number = int(port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, number))
    except ValueError:
        return f"{address!r} is not host:port"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(fd_dir / name)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listening_ports(pid: int) -> list[int]:
    """The TCP ports (IPv4 and IPv6) process ``pid`` listens on, sorted; empty when it is gone or when this
    is not Linux. Reads only ``/proc``: no connection is made."""
    inodes = _socket_inodes(pid)
    if not inodes:
        return []
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def wait_listening(proc: subprocess.Popen[Any], what: str, timeout: float = 15.0, count: int = 1) -> list[int]:
    """Wait until ``proc`` listens on at least ``count`` TCP ports and return them (sorted). Raises
    :class:`NotListening` naming ``what`` if the process exits first or ``timeout`` (seconds) passes."""
    end = time.monotonic() + timeout
    while True:
        ports = listening_ports(proc.pid)
        if len(ports) >= count:
            return ports
        code = proc.poll()
        if code is not None:
            raise NotListening(f"{what} (pid {proc.pid}) exited with {code} before it listened on a port")
        if time.monotonic() > end:
            raise NotListening(f"{what} (pid {proc.pid}) did not listen on a TCP port within {timeout:g}s")
        time.sleep(0.02)


__all__ = ["NotListening", "free_port", "listening_ports", "wait_listening"]
