"""The `load:` block is validated by the driver's own model: every problem with its path."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from chaoskit.errors import ValidationFailed
from chaoskit.loader import validate_document


def _problems(load: dict[str, Any], **extra: Any) -> list[str]:
    doc = {"title": "t", "load": load, "method": [{"pause": "1s"}], **extra}
    with pytest.raises(ValidationFailed) as err:
        validate_document(doc)
    return [str(p) for p in err.value.problems]


def test_valid_block_parses_durations() -> None:
    loaded = validate_document(
        {
            "title": "t",
            "load": {"locustfile": "lf.py", "users": 3, "warmup": "1m", "recovery": {"hold": "500ms"}},
            "method": [{"pause": "1s"}],
        }
    )
    params: Any = loaded.load_params
    assert params.warmup == 60.0 and params.recovery.hold == 0.5 and params.workers == 0


def test_problems_name_their_path() -> None:
    problems = _problems({"locustfile": "lf.py", "users": 0, "spawn_rate": "fast", "wormup": "1s"})
    assert any(p.startswith("load.users:") for p in problems)
    assert any(p.startswith("load.spawn_rate:") for p in problems)
    assert any(p.startswith("load.wormup: unknown key") for p in problems)


def test_locustfile_or_master() -> None:
    assert any("locustfile is required" in p for p in _problems({"users": 2}))
    both = _problems({"master": "http://127.0.0.1:8089", "workers": 2})
    assert any("not both" in p for p in both)
    assert any("pattern" in p or "should match" in p for p in _problems({"master": "127.0.0.1:8089"}))


def test_probe_params() -> None:
    problems = _problems(
        {"locustfile": "lf.py"},
        steady_state={
            "probes": [{"probe": "load.latency", "with": {"percentile": 150, "last": "soon"}, "expect": {"max": 1}}]
        },
    )
    assert any(p.startswith("steady_state.probes[0].with.percentile") for p in problems)
    assert any(p.startswith("steady_state.probes[0].with.last") for p in problems)


def test_entry_points_import_no_locust() -> None:
    code = (
        "import sys, chaoskit_locust.driver, chaoskit_locust.probes, chaoskit_locust.remote\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent', 'zmq', 'flask'))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
