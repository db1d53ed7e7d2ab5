"""The shop and its catalog run as real processes, one pair per test. Each binds port 0 (the OS picks a free
port) and prints the port it got, so no port is chosen ahead and pytest-xdist workers never clash.
``chaos_config`` hands their addresses to the experiments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


def start(*args: str) -> tuple[subprocess.Popen[str], int]:
    """Start a service on port 0; return it and the port it reports (``listening on 127.0.0.1:<port>``)."""
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "" when it exits before it listens
    if not line.startswith("listening on "):
        stop(proc)
        raise RuntimeError(f"{args[0]} did not start (exit {proc.returncode}): {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)  # a frozen process cannot act on SIGTERM
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


@dataclass
class Stack:
    shop_url: str
    catalog_pid: int


@pytest.fixture
def stack() -> Iterator[Stack]:
    catalog, catalog_port = start("catalog.py", "0")
    try:
        shop, shop_port = start("shop.py", "0", f"http://127.0.0.1:{catalog_port}/")
    except BaseException:
        stop(catalog)
        raise
    try:
        yield Stack(f"http://127.0.0.1:{shop_port}", catalog.pid)
    finally:
        stop(shop)
        stop(catalog)


@pytest.fixture
def chaos_config(stack: Stack) -> dict[str, Any]:
    return {"shop": stack.shop_url, "catalog_pid": stack.catalog_pid}
