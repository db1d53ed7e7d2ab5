"""The shop and its catalog run as real processes on free loopback ports, one pair per test (so
pytest-xdist workers never share them). ``chaos_config`` hands their addresses to the experiments."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=REPO, stdin=subprocess.DEVNULL)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)  # a frozen process cannot act on SIGTERM
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Stack:
    shop_url: str
    catalog_pid: int


@pytest.fixture
def stack() -> Iterator[Stack]:
    catalog_port, shop_port = free_port(), free_port()
    catalog = start("catalog.py", str(catalog_port))
    shop = start("shop.py", str(shop_port), f"http://127.0.0.1:{catalog_port}/")
    try:
        wait_port(catalog_port, catalog)
        wait_port(shop_port, shop)
        yield Stack(f"http://127.0.0.1:{shop_port}", catalog.pid)
    finally:
        stop(shop)
        stop(catalog)


@pytest.fixture
def chaos_config(stack: Stack) -> dict[str, Any]:
    return {"shop": stack.shop_url, "catalog_pid": stack.catalog_pid}
