"""In-process overhead per activity, for chaoskit or Chaos Toolkit (run with that tool's Python).

An experiment of N no-op Python activities (half probes, half actions; no tolerances, no steady
state) is run in-process through the tool's own ``run_experiment``, with no progress output. The
raw cost of calling the no-op function N times directly is subtracted. Two sizes are timed,
alternating, so the fixed per-run cost (journal, ledger, hook manager...) separates from the
per-activity cost:

    per_activity = (T(large) - T(small) - raw(large - small)) / (large - small)     -- marginal
    amortized    = (T(large) - raw(large)) / large                                   -- everything / N

Prints one JSON object on stdout. Usage::

    python bench/inprocess.py --tool chaoskit [--activities 200] [--repeat 9] [--profile]
    ctk-venv/bin/python bench/inprocess.py --tool chaostoolkit
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

NOOP_MODULE = "bench_noop_target"
NOOP_SOURCE = "def noop():\n    return 'ok'\n"


def activities(n: int) -> list[tuple[str, str]]:
    """(kind, name) for n activities: probes and actions alternating."""
    return [("probe" if i % 2 == 0 else "action", f"noop-{i}") for i in range(n)]


def chaoskit_runner(n: int, work: Path) -> Callable[[], float]:
    import chaoskit

    doc = {
        "title": f"overhead {n}",
        "steady_state": {"strategy": "skip"},
        "method": [
            {"name": name, kind: "python", "with": {"function": f"{NOOP_MODULE}:noop"}} for kind, name in activities(n)
        ],
    }
    path = work / f"overhead-{n}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    loaded = chaoskit.load_experiment(path)
    out = work / "runs"

    def once() -> float:
        options = chaoskit.RunOptions(out_dir=out, hooks=[], ledger_dir=work / "ledger")
        t0 = time.perf_counter()
        journal = chaoskit.run_experiment(loaded, options)
        elapsed = time.perf_counter() - t0
        if journal.outcome != chaoskit.Outcome.PASSED or len(journal.activities) + len(journal.observations) != n:
            raise SystemExit(f"chaoskit run did not pass cleanly: {journal.outcome} {journal.reason}")
        return elapsed

    return once


def chaostoolkit_runner(n: int, work: Path) -> Callable[[], float]:
    from chaoslib.experiment import run_experiment  # type: ignore[import-not-found]
    from chaoslib.log import configure_logger  # type: ignore[import-not-found]

    configure_logger(verbose=False)
    logging.getLogger("chaostoolkit").setLevel(logging.ERROR)  # no console progress: same as chaoskit here
    experiment = {
        "title": f"overhead {n}",
        "description": "no-op python activities",
        "method": [
            {"type": kind, "name": name, "provider": {"type": "python", "module": NOOP_MODULE, "func": "noop"}}
            for kind, name in activities(n)
        ],
    }

    def once() -> float:
        t0 = time.perf_counter()
        journal = run_experiment(json.loads(json.dumps(experiment)), settings={})
        elapsed = time.perf_counter() - t0
        if journal["status"] != "completed" or len(journal["run"]) != n:
            raise SystemExit(f"chaostoolkit run did not complete: {journal['status']}")
        return elapsed

    return once


def raw_calls(n: int) -> float:
    """Seconds to call the no-op function n times directly."""
    module = __import__(NOOP_MODULE)
    fn = module.noop
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - t0


def measure(tool: str, large: int, small: int, repeat: int, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="chaoskit-bench-") as tmp:
        work = Path(tmp)
        (work / f"{NOOP_MODULE}.py").write_text(NOOP_SOURCE, encoding="utf-8")
        sys.path.insert(0, str(work))
        os.environ.setdefault("CHAOSKIT_STATE_DIR", str(work / "state"))
        os.chdir(work)  # Chaos Toolkit writes nothing here in-process, but be safe
        make = chaoskit_runner if tool == "chaoskit" else chaostoolkit_runner
        run_large, run_small = make(large, work), make(small, work)
        run_large(), run_small()  # warm up: imports, entry points, caches
        if profile:
            return {"profile": _profile(run_large)}
        t_large: list[float] = []
        t_small: list[float] = []
        t_raw: list[float] = []
        for _ in range(repeat):
            t_large.append(run_large())
            t_small.append(run_small())
            t_raw.append(raw_calls(large))
    med_large, med_small, raw = statistics.median(t_large), statistics.median(t_small), statistics.median(t_raw)
    raw_per_call = raw / large
    marginal = (med_large - med_small - raw_per_call * (large - small)) / (large - small)
    return {
        "tool": tool,
        "activities": large,
        "small": small,
        "repeat": repeat,
        "run_large_ms": round(med_large * 1e3, 3),
        "run_small_ms": round(med_small * 1e3, 3),
        "raw_call_us": round(raw_per_call * 1e6, 4),
        "per_activity_ms": round(marginal * 1e3, 4),
        "fixed_per_run_ms": round((med_small - small * (marginal + raw_per_call)) * 1e3, 3),
        "amortized_per_activity_ms": round((med_large - raw) / large * 1e3, 4),
        "run_large_min_max_ms": [round(min(t_large) * 1e3, 3), round(max(t_large) * 1e3, 3)],
    }


def _profile(once: Callable[[], float]) -> str:
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(3):
        once()
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool", choices=["chaoskit", "chaostoolkit"], required=True)
    parser.add_argument("--activities", type=int, default=200, help="activities in the large run (default 200)")
    parser.add_argument("--small", type=int, default=10, help="activities in the small run (default 10)")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per size (default 9)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the large run instead")
    args = parser.parse_args()
    if not 0 < args.small < args.activities:
        parser.error("need 0 < --small < --activities")
    result = measure(args.tool, args.activities, args.small, args.repeat, args.profile)
    if "profile" in result:
        print(result["profile"])
    else:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
