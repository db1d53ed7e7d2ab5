"""A crashed or hung Locust child is an error with its stderr shown, never a hang; nothing is left running."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaoskit.model.journal import Outcome
from tests.load.loadkit import child_pids, no_children_left, run_doc, write_locustfile

LATER = """
import os, sys, time
from locust import HttpUser, constant, task

STARTED = time.time()


class Web(HttpUser):
    wait_time = constant(0.1)

    @task
    def health(self):
        self.client.get("/health")
        if time.time() - STARTED > 1.5:
            {action}
"""
CRASH_LATER = LATER.format(action='sys.stderr.write("boom: locustfile gave up\\n"); sys.stderr.flush(); os._exit(7)')
HANG_LATER = LATER.format(action='os.system("sleep 8")  # blocks the whole gevent hub: no more stats')


def _doc(service: Any, pause: str = "6s", **load: Any) -> dict[str, Any]:
    return {
        "title": "child trouble",
        "load": {"locustfile": "locustfile.py", "host": service.url, "users": 2, "spawn_rate": 20, **load},
        "method": [{"pause": pause}],
    }


def test_locustfile_import_error_shows_stderr(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path, "raise RuntimeError('bad locustfile: no such thing')\n")
    started = time.monotonic()
    journal = run_doc(_doc(http_service, pause="1s"), tmp_path)
    assert journal.outcome == Outcome.ERROR
    assert "load did not start" in journal.reason and "bad locustfile: no such thing" in journal.reason
    assert "exited with code" in journal.reason
    assert time.monotonic() - started < 60
    assert no_children_left(str(tmp_path)) == []


def test_unknown_user_class_is_named(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path)
    journal = run_doc(_doc(http_service, pause="1s", user_classes=["Nope"]), tmp_path)
    assert journal.outcome == Outcome.ERROR
    assert "user_classes ['Nope']" in journal.reason and "it defines: Web" in journal.reason


def test_child_crash_mid_run_is_an_error_with_stderr(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path, CRASH_LATER)
    journal = run_doc(_doc(http_service), tmp_path)
    assert journal.outcome == Outcome.ERROR, journal.reason
    assert "exited with code 7" in journal.reason and "boom: locustfile gave up" in journal.reason
    assert no_children_left(str(tmp_path)) == []


def test_child_hung_at_start_is_killed(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path, "import os\nos.system('sleep 8')\n" + "from locust import HttpUser\n")
    started = time.monotonic()
    journal = run_doc(_doc(http_service, pause="1s", start_timeout="3s"), tmp_path)
    assert journal.outcome == Outcome.ERROR
    assert "did not start within start_timeout (3s)" in journal.reason
    assert time.monotonic() - started < 30
    assert no_children_left(str(tmp_path)) == []


def test_child_hung_mid_run_is_detected(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path, HANG_LATER)
    doc = _doc(http_service, stall_timeout="2s", stop_timeout="2s")
    doc["steady_state"] = {
        "strategy": "continuous",
        "frequency": "500ms",
        "probes": [{"probe": "load.rps", "with": {"last": "1s"}, "expect": {"min": 0}}],
    }
    doc["recovery"] = {"within": "2s"}
    started = time.monotonic()
    journal = run_doc(doc, tmp_path)
    assert time.monotonic() - started < 60
    assert journal.outcome in (Outcome.ERROR, Outcome.DEVIATED), journal.reason
    hung = [o for o in journal.observations if o.error and "it hangs" in o.error]
    assert hung, [o.error for o in journal.observations]
    assert any("it hangs" in e.message for e in journal.errors)
    assert child_pids(str(tmp_path)) == [] or no_children_left(str(tmp_path)) == []


def test_child_has_a_hard_max_lifetime(tmp_path: Path, http_service: Any) -> None:
    write_locustfile(tmp_path)
    started = time.monotonic()
    journal = run_doc(_doc(http_service, pause="10s", max_lifetime="5s"), tmp_path)
    assert journal.outcome == Outcome.ERROR, journal.reason
    assert "max_lifetime (5s) reached" in journal.reason and "exited with code 3" in journal.reason
    assert time.monotonic() - started < 60
    assert no_children_left(str(tmp_path)) == []
