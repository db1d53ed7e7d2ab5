"""Helpers for the load tests: locustfiles, an in-process run with a test-only fault, child processes in /proc."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import yaml

from chaoskit.loader import validate_document
from chaoskit.model.base import StrictModel
from chaoskit.model.journal import Journal
from chaoskit.plugin import Context, Fault
from chaoskit.registry import Registry
from chaoskit.runner import RunOptions, run_experiment
from tests.conftest import HttpService

LOCUSTFILE = """
from locust import HttpUser, constant, task


class Web(HttpUser):
    wait_time = constant(0.1)

    @task
    def health(self):
        self.client.get("/health")
"""


def write_locustfile(folder: Path, text: str = LOCUSTFILE, name: str = "locustfile.py") -> Path:
    path = folder / name
    path.write_text(text)
    return path


class StatusParams(StrictModel):
    status: int = 500
    recover_after_s: float = 0.0
    delay_s: float = 0.0
    """Also make every answer this slow while the fault is in place."""
    revert_status: int | None = None
    """Answer this from the revert until ``recover_after_s`` later (a restart that is not warm yet); default:
    keep answering ``status``."""


class ServiceFault:
    """Builds a test-only fault that makes the in-process service answer ``status``; its revert lets the
    service recover ``recover_after_s`` later, and records when it really did (the truth for TTR)."""

    def __init__(self, service: HttpService) -> None:
        self.service = service
        self.recovered_at: float | None = None
        self.reverted_at: float | None = None

    def plugin(self) -> type[Fault[StatusParams]]:
        outer = self

        class StatusFault(Fault[StatusParams]):
            """Make the test service fail."""

            Params = StatusParams

            def plan(self, params: StatusParams, ctx: Context) -> dict[str, Any]:
                return {"recover_after_s": params.recover_after_s, "revert_status": params.revert_status}

            def inject(self, params: StatusParams, info: dict[str, Any], ctx: Context) -> None:
                outer.service.state.status = params.status
                outer.service.state.delay_s = params.delay_s

            def revert(self, info: dict[str, Any], ctx: Context) -> None:
                outer.reverted_at = time.time()
                outer.service.state.delay_s = 0.0
                if info.get("revert_status") is not None:
                    outer.service.state.status = int(info["revert_status"])

                def recover() -> None:
                    outer.service.state.status = 200
                    outer.recovered_at = time.time()

                threading.Timer(float(info["recover_after_s"]), recover).start()

        return StatusFault


def run_doc(
    doc: dict[str, Any], folder: Path, faults: dict[str, Any] | None = None, hooks: list[Any] | None = None
) -> Journal:
    """Validate and run an experiment in this process, as `chaoskit run` would (the file lives in ``folder``)."""
    source = folder / "experiment.yaml"
    source.write_text(yaml.safe_dump(doc))
    registry = Registry(extra={"fault": faults or {}})
    registry.entries("fault")  # scan first: Registry.load() misses in-process extras before the first scan
    loaded = validate_document(doc, source=str(source), registry=registry)
    options = RunOptions(out_dir=folder / "runs", handle_signals=False, hook_entry_points=False, hooks=hooks or [])
    return run_experiment(loaded, options, registry)


def child_pids(marker: str) -> list[int]:
    """Live locust child processes whose configuration mentions ``marker`` (e.g. a test's tmp folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"chaoskit_locust.child" not in cmdline:
                continue
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if "zombie" not in state:
            found.append(int(entry.name))
    return found


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def no_children_left(marker: str, timeout: float = 15.0) -> list[int]:
    wait_until(lambda: not child_pids(marker), timeout)
    return child_pids(marker)
