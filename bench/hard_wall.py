"""How far past `safety.max_duration` a run holds its fault when a monitor probe or a hook hangs (target: at most
1 s).

Each round runs a real experiment in process: a `testkit.marker` fault held for 30 s, `max_duration: 2s`, and,
in turn, a probe of a real local HTTP service that stops answering (for 30 s) as soon as the fault is in place --
as the continuous steady state, or as a `safety.abort_when` condition -- or a hook (`chaoskit_fault_injected`)
that never returns. The overrun is the fault's revert time (journal) minus start minus max_duration. Without the
hard wall it was ~28 s for a probe (the runner waited for the probe's 30 s timeout) and forever for a hook.

    .venv/bin/python bench/hard_wall.py --rounds 10
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from _common import BenchServer, serve

from chaoskit import RunOptions, run_experiment, validate_document
from chaoskit.hooks import hookimpl

KINDS = ("continuous", "abort_when", "hook")


class HungHook:
    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl
    def chaoskit_fault_injected(self) -> None:
        self.release.wait(60)  # "forever" for the run; released after it, so no thread outlives the round


def serve_hanging(hang: threading.Event) -> BenchServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if hang.is_set():
                time.sleep(30)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return serve(Handler)


def one(where: str, folder: Path) -> float:
    hang = threading.Event()
    server = serve_hanging(hang)
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    probe = {"name": "hung", "probe": "http", "with": {"url": url, "timeout": "30s"}, "timeout": "30s"}
    doc: dict[str, Any] = {
        "title": "hard wall",
        "method": [{"fault": "testkit.marker", "with": {"path": str(folder / "marker")}, "duration": "30s"}],
    }
    hooks: list[Any] = []
    if where == "hook":
        hooks.append(HungHook())
        doc["safety"] = {"max_duration": "2s"}
    elif where == "continuous":
        doc["steady_state"] = {
            "strategy": "continuous",
            "frequency": "100ms",
            "probes": [{**probe, "expect": {"status": 200}}],
        }
        doc["safety"] = {"max_duration": "2s"}
    else:
        doc["safety"] = {
            "max_duration": "2s",
            "interval": "100ms",
            "abort_when": [{**probe, "expect": {"status": [500]}}],
        }

    def hang_once_injected() -> None:
        while not (folder / "marker").exists():
            time.sleep(0.005)
        hang.set()

    threading.Thread(target=hang_once_injected, daemon=True).start()
    journal = run_experiment(validate_document(doc), RunOptions(out_dir=folder / "runs", hooks=hooks))
    for hook in hooks:
        hook.release.set()
    server.shutdown()
    (fault,) = journal.faults
    assert journal.outcome is not None and journal.outcome.value == "aborted", journal.reason
    assert fault.reverted_at is not None and not (folder / "marker").exists()
    return fault.reverted_at - journal.started_at - 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    results: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            where = KINDS[i % len(KINDS)]
            folder = Path(tmp, str(i))
            folder.mkdir()
            overrun = one(where, folder)
            results[where].append(overrun)
            what = "hook" if where == "hook" else f"{where} probe"
            print(f"round {i + 1}: hung {what}: fault reverted {overrun:.3f}s after max_duration", flush=True)
    for where, values in results.items():
        if values:
            print(
                f"{where}: n={len(values)} median {statistics.median(values):.3f}s max {max(values):.3f}s "
                f"(target <= 1 s)"
            )


if __name__ == "__main__":
    main()
