"""What recording a run as a trace costs: the same run with tracing on and off, side by side.

    .venv/bin/python bench/tracing_overhead.py [--probes 300] [--rounds 5]

A run of N http probe steps against a loopback service (each sends traceparent + baggage when
tracing is on), alternating on/off rounds so machine noise hits both alike. Prints the median wall
time per run, the cost per traced probe, the time spent writing trace.json, and its size.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import serve

from chaoskit.loader import validate_document
from chaoskit.runner import RunOptions, run_experiment


def _run(url: str, probes: int, tracing: bool, out: Path) -> tuple[float, float, int]:
    doc = {
        "title": "tracing overhead",
        "method": [{"name": f"p{i}", "probe": "http", "with": {"url": url}} for i in range(probes)],
        "tracing": {"enabled": tracing},
    }
    loaded = validate_document(doc, source=str(out / "bench.yaml"))
    started = time.perf_counter()
    journal = run_experiment(loaded, RunOptions(out_dir=out, handle_signals=False, hook_entry_points=False))
    wall = time.perf_counter() - started
    assert journal.outcome is not None and journal.outcome.value == "passed", journal.reason
    assert journal.ended_at is not None
    after_end = wall - (journal.ended_at - journal.started_at)  # trace file + journal writing
    size = Path(journal.artifacts["trace"]).stat().st_size if "trace" in journal.artifacts else 0
    return wall, after_end, size


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = serve()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    results: dict[bool, list[tuple[float, float, int]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        _run(url, 5, True, Path(tmp))  # warm imports (opentelemetry, protobuf) outside the timing
        for _ in range(args.rounds):
            for tracing in (False, True):
                results[tracing].append(_run(url, args.probes, tracing, Path(tmp)))
    server.shutdown()
    off = statistics.median(r[0] for r in results[False])
    on = statistics.median(r[0] for r in results[True])
    print(f"{args.probes} http probes, median of {args.rounds} rounds each")
    print(f"  tracing off: {off:.3f}s per run")
    print(f"  tracing on : {on:.3f}s per run ({(on - off) / args.probes * 1e6:+.0f} µs per probe)")
    print(
        f"  after the run (trace.json + journal): on {statistics.median(r[1] for r in results[True]) * 1000:.0f} ms, "
        f"off {statistics.median(r[1] for r in results[False]) * 1000:.0f} ms"
    )
    print(f"  trace.json: {results[True][-1][2] / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
