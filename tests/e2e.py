"""Helpers of the end-to-end tests that drive a plugin's real server through the real CLI (toxiproxy, httpfault):
the server for the session, an experiment file, a run in the background, its journal and its ledger files."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from chaoskit.errors import PluginError
from chaoskit.servers import ServerProcess
from tests.conftest import CHAOSKIT

S = TypeVar("S", bound=ServerProcess)


def session_server(server: S) -> Iterator[S]:
    """The body of a session fixture: start ``server`` (a failure to start fails the test, saying why), yield
    it, stop it."""
    try:
        server.start()
    except PluginError as exc:
        pytest.fail(f"cannot start the real {server.what}: {exc}", pytrace=False)
    yield server
    server.stop()


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    """``doc`` as ``tmp_path/exp.yaml`` (keys in their order)."""
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def start_run(path: Path) -> subprocess.Popen[str]:
    """``chaoskit run path --quiet`` in the background, in the file's folder."""
    return subprocess.Popen(
        [CHAOSKIT, "run", str(path), "--quiet"],
        cwd=path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def journal_of(path: Path) -> dict[str, Any]:
    """The journal of the one run under ``chaoskit-runs/`` in the folder ``path``, or next to the experiment file
    ``path``."""
    folder = path if path.is_dir() else path.parent
    journals = list((folder / "chaoskit-runs").glob("*/journal.json"))
    assert len(journals) == 1, journals
    data: dict[str, Any] = json.loads(journals[0].read_text())
    return data


def ledgers(state: Path) -> list[str]:
    """The ledger files left in the state folder, sorted."""
    folder = state / "ledger"
    return sorted(p.name for p in folder.glob("*.json")) if folder.exists() else []
