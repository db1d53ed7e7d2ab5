"""chaoskit gives the verdict real Chaos Toolkit gives, case for case (cases.yaml).

CTK's verdicts were recorded by record_ctk.py (chaostoolkit 1.21.4 / chaostoolkit-lib 1.45.1) into expected/;
here the real ``chaoskit run`` command runs each case against the same service (tests/ctk/service.py on
127.0.0.1) and its CTK-shaped journal (--journal-path) must give the same status, deviated flag, exit code,
hypothesis results and activity statuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.ctk.record_ctk import (
    EXPERIMENTS,
    HERE,
    cases,
    environment,
    k8s_left_behind,
    left_behind,
    prepare_kubernetes,
    prepare_toxiproxy,
    summary,
)
from tests.ctk.service import Service

CASES = cases()


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    svc = Service()
    yield svc
    svc.close()


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / "expected" / f"{name}.json").read_text())
    for key in ("recorded_with", "command", "error", "left_behind"):
        data.pop(key, None)
    return data


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_verdict_as_chaos_toolkit(
    name: str, service: Service, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    case = CASES[name]
    service.reset()
    env = environment(service.url)
    toxiproxy = request.getfixturevalue("toxiproxy") if case.get("needs") == "toxiproxy" else None
    if toxiproxy is not None:
        env |= prepare_toxiproxy(toxiproxy, service.url)
    k8s = case.get("needs") == "kubernetes"
    if k8s:
        core, apps = request.getfixturevalue("core"), request.getfixturevalue("apps")
        namespace = request.getfixturevalue("namespace")
        env |= prepare_kubernetes(core, apps, namespace, request.getfixturevalue("kubeconfig"))
    journal_path = tmp_path / "ctk-journal.json"
    proc = run_cli(
        "run",
        "-q",
        "--journal-path",
        str(journal_path),
        "--out",
        str(tmp_path / "runs"),
        *case.get("flags", []),
        case["file"],
        cwd=EXPERIMENTS,
        env=env,
        timeout=180,
    )
    want = expected(name)
    if want["status"] is None:
        # CTK itself crashed on this case (no journal, exit 1); chaoskit fails the run with the reason instead
        assert proc.returncode == want["exit_code"], proc.stderr
        journal = json.loads(journal_path.read_text())
        assert journal["status"] == "failed"
        assert "cannot be checked" in journal["chaoskit"]["reason"]
        return
    assert journal_path.exists(), proc.stderr
    got = summary(json.loads(journal_path.read_text()), proc.returncode)
    assert got == want, proc.stderr
    if toxiproxy is not None:
        # where CTK leaves a fault its rollbacks did not undo (expected/<case>.json: left_behind), chaoskit
        # reverts it through its ledger: nothing is left, whatever the strategy or the status
        assert left_behind(toxiproxy) == {"enabled": True, "toxics": []}
    if k8s:
        assert k8s_left_behind(core, apps, namespace) == {"replicas": 2, "cordoned": 0}
