"""chaoskit.ports: a real child process binds port 0 and the port it got is read from the kernel."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chaoskit.ports import NotListening, listening_ports, wait_listening

QUICKSTART_SERVER = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "server.py"


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def test_wait_listening_reads_the_port_the_child_bound_itself() -> None:
    proc = subprocess.Popen([sys.executable, str(QUICKSTART_SERVER)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        reported = int(proc.stdout.readline().rsplit(":", 1)[1])  # what the server says it got
        assert wait_listening(proc, "quickstart server", timeout=10) == [reported]
        with socket.create_connection(("127.0.0.1", reported), timeout=5):
            pass  # and it is really there
    finally:
        _stop(proc)
    assert listening_ports(proc.pid) == []  # gone


def test_listening_ports_sees_listeners_only() -> None:
    with socket.socket() as listener, socket.socket() as bound_only:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        bound_only.bind(("127.0.0.1", 0))  # bound, not listening: nothing can connect to it
        with socket.create_connection(listener.getsockname(), timeout=5):  # an established socket is not listed
            ports = listening_ports(os.getpid())
        assert listener.getsockname()[1] in ports
        assert bound_only.getsockname()[1] not in ports


def test_wait_listening_names_a_process_that_exits_first() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(NotListening, match=r"the test service \(pid \d+\) exited with 3 before it listened"):
        wait_listening(proc, "the test service", timeout=30)


def test_wait_listening_is_bounded() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(NotListening, match=r"did not listen on a TCP port within 0.3s"):
            wait_listening(proc, "a sleeper", timeout=0.3)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_port_already_taken_is_a_clear_error_for_a_fixed_port() -> None:
    """The forced collision: someone holds the port when the service starts on it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, str(QUICKSTART_SERVER), str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = proc.communicate(timeout=30)
        assert proc.returncode != 0 and b"Address already in use" in err
        assert out == b""  # it never claimed to listen
