"""host.kill with down_for on a real server process, in a real run: the port stays closed that long."""

from __future__ import annotations

import shlex
import sys
import threading
import time
from pathlib import Path

from chaoskit_host.signals import KillFault, KillParams
from chaoskit_host.targets import Selector, matches

from chaoskit import Outcome, RunOptions, run_experiment, validate_document
from chaoskit.plugin import Context
from chaoskit.report import report_run
from tests.host.host_helpers import SERVER, ServerProcess, serving


def _closed_span(port: int, stop: threading.Event, seen: list[float]) -> None:
    """Record when the port first stops answering and when it answers again (polled every 20 ms)."""
    while not stop.is_set():
        up = serving(port)
        if not up and not seen:
            seen.append(time.time())
        elif up and len(seen) == 1:
            seen.append(time.time())
            return
        time.sleep(0.02)


def test_down_for_keeps_the_port_closed_then_restarts(server: ServerProcess, tmp_path: Path) -> None:
    log = tmp_path / "restarted.log"
    restart = f"sh -c {shlex.quote(f'{shlex.quote(sys.executable)} {SERVER} {server.port} >{log} 2>&1 &')}"
    doc = {
        "title": "down for a while",
        "steady_state": {
            "probes": [{"name": "up", "probe": "http", "with": {"url": server.url}, "expect": {"status": 200}}]
        },
        "method": [
            {
                "fault": "host.kill",
                "with": {"port": server.port, "signal": "SIGTERM", "restart": restart, "down_for": "1500ms"},
                "duration": "500ms",  # shorter than down_for: the revert waits the rest
            }
        ],
        "recovery": {"within": "15s", "interval": "100ms"},
    }
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=_closed_span, args=(server.port, stop, seen), daemon=True)
    watcher.start()
    try:
        loaded = validate_document(doc, source=str(tmp_path / "exp.yaml"))
        journal = run_experiment(loaded, RunOptions(out_dir=tmp_path / "runs", handle_signals=False))
        watcher.join(timeout=20)
    finally:
        stop.set()
        for proc in matches(Selector(port=server.port), Context())[0]:  # the restarted server is not our child
            KillFault().inject(
                KillParams(pid=proc.pid), KillFault().plan(KillParams(pid=proc.pid), Context()), Context()
            )
    assert journal.outcome == Outcome.PASSED, journal.reason
    assert len(seen) == 2, seen
    assert seen[1] - seen[0] >= 1.4, seen  # closed for down_for (20 ms polling)
    (fault,) = journal.faults
    info = fault.revert_info
    assert info["killed"][0]["pid"] == server.proc.pid and info["revertible"] is False
    restart_info = info["restart"]
    assert restart_info["exit_code"] == 0
    assert restart_info["started_at"] - info["killed_at"] >= 1.5
    assert "restart after 1.5s" in fault.target
    html = report_run(journal).read_text()  # type: ignore[union-attr]
    started = restart_info["started_at"] - journal.started_at
    assert f"not revertible; killed pid {server.proc.pid}; restarted at +{started:.1f}s (exit 0)" in html


def test_down_for_needs_a_restart() -> None:
    try:
        KillParams(port=1, down_for=2.0)
    except ValueError as exc:
        assert "down_for needs restart" in str(exc)
    else:
        raise AssertionError("down_for without restart was accepted")
