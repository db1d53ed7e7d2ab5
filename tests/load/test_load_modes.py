"""Locust's master/worker mode: local workers owned by chaoskit, and an external master chaoskit reads."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from chaoskit.hooks import hookimpl
from chaoskit.model.journal import Outcome
from chaoskit.ports import wait_listening
from tests.load.loadkit import no_children_left, run_doc, wait_until, write_locustfile

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class TraceHeaders:
    @hookimpl
    def chaoskit_propagation_headers(self, journal: Any) -> dict[str, str]:
        return {"traceparent": TRACEPARENT, "baggage": "chaoskit.run=test"}


TWO_USERS = """
from locust import HttpUser, constant, tag, task


class Web(HttpUser):
    wait_time = constant(0.1)

    @tag("main")
    @task
    def health(self):
        self.client.get("/health")

    @tag("other")
    @task
    def other(self):
        self.client.get("/other")


class Admin(HttpUser):
    wait_time = constant(0.1)

    @task
    def admin(self):
        self.client.get("/admin")
"""


def _steady() -> dict[str, Any]:
    return {"probes": [{"probe": "load.rps", "with": {"last": "2s", "endpoint": "/health"}, "expect": {"min": 3}}]}


@pytest.mark.slow
def test_local_workers_tags_user_classes_and_trace_context(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path, TWO_USERS)
    doc = {
        "title": "workers",
        "load": {
            "locustfile": "locustfile.py",
            "host": http_service.url,
            "users": 4,
            "spawn_rate": 40,
            "workers": 2,
            "warmup": "2s",
            "user_classes": ["Web"],
            "tags": ["main"],
        },
        "steady_state": _steady(),
        "method": [{"pause": "2s"}],
    }
    journal = run_doc(doc, tmp_path, hooks=[TraceHeaders()])
    assert journal.outcome == Outcome.PASSED, (journal.reason, journal.errors)
    load = journal.load.model_dump(mode="json") if journal.load is not None else None  # the JSON shape
    assert load is not None and load["mode"] == "workers"
    assert [p["role"] for p in load["processes"]] == ["master", "worker", "worker"]
    assert all(p["returncode"] == 0 for p in load["processes"]), load["processes"]
    assert load["total"]["requests"] > 50 and load["total"]["failures"] == 0
    assert set(load["endpoints"]) == {"/health"}  # only the Web user's task tagged "main"
    # Every load request carried the run's trace context.
    load_requests = [h for h in http_service.state.headers_seen if h.get("User-Agent", "").startswith("python-req")]
    assert load_requests and all(h.get("traceparent") == TRACEPARENT for h in load_requests)
    assert all(h.get("baggage") == "chaoskit.run=test" for h in load_requests)
    assert no_children_left(str(tmp_path)) == []


def _answers_http(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats/requests", timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_external_master(tmp_path: Path, http_service: Any) -> None:
    locustfile = write_locustfile(tmp_path)
    base = [sys.executable, "-m", "locust", "-f", str(locustfile), "--skip-log-setup"]
    # Both on port 0: the master binds them itself; the ports it got are read from the kernel (no race).
    master = subprocess.Popen(
        [*base, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", "0",
         "--web-host", "127.0.0.1", "--web-port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ports = wait_listening(master, "the locust master", timeout=60, count=2)
    except BaseException:
        master.kill()
        master.wait(10)
        raise
    web, bind = (ports[0], ports[1]) if _answers_http(ports[0]) else (ports[1], ports[0])
    worker = subprocess.Popen(
        [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(bind)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web}/stats/requests", timeout=2) as r:
                    return int(json.loads(r.read()).get("worker_count", 0)) >= 1
            except OSError:
                return False

        assert wait_until(ready, 90, 0.5), "the external master or its worker did not come up"
        doc = {
            "title": "external master",
            "load": {"master": f"http://127.0.0.1:{web}", "host": http_service.url, "users": 3, "spawn_rate": 30},
            "method": [{"pause": "8s"}],
        }
        journal = run_doc(doc, tmp_path)
        assert journal.outcome == Outcome.PASSED, (journal.reason, journal.errors)
        load = journal.load.model_dump(mode="json") if journal.load is not None else None  # the JSON shape
        assert load is not None and load["mode"] == "master"
        assert load["total"]["requests"] > 20 and load["total"]["p95_ms"] is not None
        assert "/health" in load["endpoints"]
        # chaoskit stopped the swarm it started; the master itself is not chaoskit's to kill.
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/stats/requests", timeout=5) as r:
            assert json.loads(r.read())["state"] in ("stopped", "stopping")
        assert master.poll() is None
    finally:
        for proc in (worker, master):
            proc.terminate()
        for proc in (worker, master):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
