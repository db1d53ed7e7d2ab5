"""Memory over a long run: a continuous HTTP probe every 100 ms (10 Hz) against a local server, with tracing
on and off, side by side. The RSS of the process is sampled every 5 s while the run goes.
"End" is the last sample while the method holds; the RSS after the run (the journal put back together from
its stream for ``journal.json`` and the returned object) is printed apart.

Reported per mode: RSS after the first minute, at the end, the growth after the first minute per observation
and per minute, and the sizes of journal.json and trace.json. Target (issue 22): over a one-hour run, RSS
within 10 MiB of its value after the first minute. Bounded: ``--minutes`` per mode (default 5; 60 for the
full target), then the run ends by itself.

    .venv/bin/python bench/long_run_memory.py [--minutes 5] [--modes on,off] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import serve

from chaoskit.loader import validate_document
from chaoskit.runner import RunOptions, run_experiment


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def run_mode(tracing: bool, minutes: float, url: str, work: Path) -> dict[str, Any]:
    doc = {
        "title": f"soak tracing {'on' if tracing else 'off'}",
        "steady_state": {
            "strategy": "continuous",
            "frequency": "100ms",
            "probes": [{"name": "api", "probe": "http", "with": {"url": url}, "expect": {"status": 200}}],
        },
        "method": [{"pause": f"{minutes * 60:g}s"}],
        "safety": {"max_duration": f"{minutes * 60 + 120:g}s"},
        "tracing": {"enabled": tracing},
    }
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - started, rss_mib()))
            stop.wait(5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    loaded = validate_document(doc, source=str(work / "exp.yaml"))
    journal = run_experiment(loaded, RunOptions(run_dir=work / f"run-{tracing}", handle_signals=False))
    stop.set()
    sampler.join()
    observations = len(journal.observations)
    after_minute = next((rss for t, rss in samples if t >= 60), samples[0][1])
    # The run's own memory: the samples while the method holds. After it, the journal is put back together for
    # journal.json and the returned object (one pass over the stream, once per run): reported apart.
    during = [(t, rss) for t, rss in samples if t <= minutes * 60]
    end_t, end = during[-1]
    elapsed_after_minute = max(1e-9, end_t - 60)
    obs_after_minute = observations * elapsed_after_minute / max(1e-9, samples[-1][0])
    files = {name: (work / f"run-{tracing}" / name) for name in ("journal.json", "trace.json")}
    return {
        "tracing": tracing,
        "minutes": minutes,
        "outcome": journal.outcome.value if journal.outcome else None,
        "reason": journal.reason,
        "observations": observations,
        "rss_start_mib": samples[0][1],
        "rss_after_1min_mib": after_minute,
        "rss_end_mib": end,
        "rss_max_during_mib": max(rss for _, rss in during),
        "rss_after_run_mib": rss_mib(),
        "growth_after_1min_mib": end - after_minute,
        "growth_kib_per_observation": (end - after_minute) * 1024 / max(1.0, obs_after_minute),
        "growth_mib_per_minute": (end - after_minute) / (elapsed_after_minute / 60),
        "file_sizes_bytes": {name: path.stat().st_size if path.exists() else None for name, path in files.items()},
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each run (default 5; >= 2)")
    parser.add_argument("--modes", default="on,off", help="tracing modes to run, in order (on,off)")
    parser.add_argument("--json", type=Path, help="also write the results (with every RSS sample) here")
    args = parser.parse_args()
    if args.minutes < 2:
        parser.error("--minutes must be at least 2 (the baseline is the RSS after the first minute)")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("on", "off") for m in modes):
        parser.error("--modes takes 'on', 'off' or both, comma-separated")
    server = serve()
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="chaoskit-soak-") as tmp:
            # Its own state folder (ledgers, live runs, the halt file): a `chaoskit halt` meant for other runs on
            # this machine does not stop the soak (a first hour-long attempt in the shared folder ended `aborted`).
            os.environ.setdefault("CHAOSKIT_STATE_DIR", str(Path(tmp) / "state"))
            for mode in modes:
                results.append(run_mode(mode == "on", args.minutes, url, Path(tmp)))
    finally:
        server.shutdown()
        server.server_close()
    print(f"continuous http probe at 10 Hz, {args.minutes:g} min per mode (one process, modes in order)")
    for r in results:
        sizes = ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in r["file_sizes_bytes"].items() if v is not None)
        print(
            f"  tracing {'on ' if r['tracing'] else 'off'}: {r['observations']} observations ({r['outcome']}"
            f"{'' if r['outcome'] == 'passed' else ': ' + r['reason']}); RSS "
            f"{r['rss_start_mib']:.1f} -> {r['rss_after_1min_mib']:.1f} (1 min) -> {r['rss_end_mib']:.1f} MiB; "
            f"after the first minute +{r['growth_after_1min_mib']:.2f} MiB = "
            f"{r['growth_kib_per_observation']:.2f} KiB/observation, {r['growth_mib_per_minute']:.2f} MiB/min; "
            f"max during the run {r['rss_max_during_mib']:.1f} MiB, after the run {r['rss_after_run_mib']:.1f} MiB; "
            f"{sizes}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
