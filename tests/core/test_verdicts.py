"""Verdicts that mean what they say (issue 14), on real runs against a real loopback HTTP service."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from chaoskit import Outcome
from tests.conftest import HttpService
from tests.core.test_runner import health, run


def shell(script: str, **extra: Any) -> dict[str, Any]:
    return {"action": "process", "with": {"command": [sys.executable, "-c", script]}, **extra}


def test_a_rollback_that_heals_does_not_hide_a_system_that_does_not_recover(
    tmp_path: Path, http_service: HttpService
) -> None:
    # The method breaks the service's state file (503); only the rollback repairs it. Recovery is judged
    # before the rollbacks, so the run deviates -- and the rollback still runs afterwards.
    broken = tmp_path / "broken"
    http_service.state.broken_when = broken
    journal = run(
        tmp_path,
        {
            "title": "heal in rollback",
            "steady_state": {"probes": [health(http_service)]},
            "method": [shell(f"open({str(broken)!r}, 'w').write('x')", name="break the state file")],
            "rollbacks": [shell(f"import os; os.remove({str(broken)!r})", name="restore the state file")],
            "recovery": {"within": "500ms", "interval": "100ms"},
        },
    )
    assert journal.outcome == Outcome.DEVIATED, journal.reason
    assert "not recovered within 0.5s" in journal.reason and "status 503" in journal.reason
    phases = [p.name for p in journal.phases]
    assert phases.index("recovery") < phases.index("rollbacks")
    assert not broken.exists()  # the rollback ran
    assert [a.name for a in journal.activities] == ["break the state file", "restore the state file"]
