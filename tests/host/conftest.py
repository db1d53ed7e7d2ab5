"""Fixtures for the host plugin tests: real sleepers and a real HTTP server process."""

from __future__ import annotations

import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.host.host_helpers import ServerProcess, Sleepers, start_server


@pytest.fixture
def sleepers(tmp_path: Path) -> Iterator[Sleepers]:
    name = f"chk{uuid.uuid4().hex[:8]}"  # short: it is also the kernel's comm (15 chars max)
    link = tmp_path / name
    link.symlink_to(shutil.which("sleep") or "/bin/sleep")
    s = Sleepers(name, link)
    yield s
    s.stop()


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    """A real HTTP server in its own process, on a free loopback port."""
    srv = start_server()
    yield srv
    if srv.proc.poll() is None:
        srv.proc.send_signal(signal.SIGCONT)
        srv.proc.kill()
    srv.proc.wait(timeout=10)
