"""`safety.max_duration` is a hard wall: a probe that hangs (in the monitor, for continuous steady state or
`abort_when`) is abandoned, not waited for; every fault is reverted soon after max_duration (the 1 s target is
measured by bench/hard_wall.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chaoskit import Outcome
from tests.conftest import HttpService
from tests.core.test_runner import marker, run


def hung(service: HttpService, **expect: Any) -> dict[str, Any]:
    """A probe of a real service that stops answering (for 30 s) once the fault is in place."""
    return {
        "name": "hung",
        "probe": "http",
        "with": {"url": f"{service.url}/health", "timeout": "30s"},
        "timeout": "30s",
        "expect": expect or {"status": 200},
    }


@pytest.mark.parametrize("where", ["continuous", "abort_when"])
def test_a_hung_monitor_probe_does_not_hold_the_faults_past_max_duration(
    tmp_path: Path, http_service: HttpService, where: str
) -> None:
    doc: dict[str, Any] = {"title": "hung monitor", "method": [marker(duration="30s")]}
    if where == "continuous":
        doc["steady_state"] = {"strategy": "continuous", "frequency": "100ms", "probes": [hung(http_service)]}
        doc["safety"] = {"max_duration": "2s"}
    else:
        doc["safety"] = {"max_duration": "2s", "interval": "100ms", "abort_when": [hung(http_service, status=[500])]}

    def hang_once_injected() -> None:
        while not (tmp_path / "marker").exists():
            time.sleep(0.01)
        http_service.state.delay_s = 30

    threading.Thread(target=hang_once_injected, daemon=True).start()
    started = time.monotonic()
    journal = run(tmp_path, doc)
    assert journal.outcome == Outcome.ABORTED, journal.reason
    assert "safety.max_duration (2s) reached" in journal.reason
    (fault,) = journal.faults
    assert fault.reverted_at is not None and not (tmp_path / "marker").exists()
    overrun = fault.reverted_at - journal.started_at - 2.0
    # Not waited for: far below the 28 s the probe still had. The 1 s target is measured in bench/hard_wall.py
    # (a timed bound in a test only measures how busy the machine is).
    assert overrun < 5.0, f"the fault was reverted {overrun:.2f}s after max_duration"
    print(f"max_duration overrun with a hung {where} probe: {overrun:.3f}s")
    assert time.monotonic() - started < 15  # the run did not wait for the probe (30 s)
    assert http_service.state.delay_s == 30  # the probe did hang
