"""In-process overhead per activity, for chaoskit or Chaos Toolkit (run with that tool's Python).

An experiment of N no-op Python activities (half probes, half actions; no tolerances, no steady
state) is run in-process through the tool's own ``run_experiment``, with no progress output. The
raw cost of calling the no-op function N times directly is subtracted. Two sizes are timed,
alternating, so the fixed per-run cost (journal, ledger, hook manager...) separates from the
per-activity cost:

    per_activity = (T(large) - T(small) - raw(large - small)) / (large - small)     -- marginal
    amortized    = (T(large) - raw(large)) / large                                   -- everything / N

T is measured twice: wall time (``perf_counter``) and CPU time of the whole process, all threads
(``process_time``). On a busy machine wall time also counts waiting for a CPU at every thread hand-off;
CPU time does not, so it is the steadier of the two.

``--callgrind`` counts instructions instead (valgrind; they do not depend on the machine's load). A process
loads the experiment and runs it once, another runs it twice: the difference is one run, without imports and
loading. Done at both sizes, (run(large) - run(small)) / (large - small) is what one activity costs.
``--tracing off`` runs chaoskit with ``tracing.enabled: false`` (it is on by default). The counted processes run
with ``PYTHONHASHSEED=0`` (see :data:`HASH_SEED`), so that a count is the same from run to run.

Prints one JSON object on stdout. Usage::

    python bench/inprocess.py --tool chaoskit [--activities 200] [--repeat 9] [--profile] [--tracing off]
    python bench/inprocess.py --tool chaoskit --callgrind [--tracing off]
    ctk-venv/bin/python bench/inprocess.py --tool chaostoolkit [--callgrind]
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


Timing = tuple[float, float]  # (wall seconds, CPU seconds)


def _timed(fn: Callable[[], Any]) -> tuple[Any, Timing]:
    w0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    return value, (time.perf_counter() - w0, time.process_time() - c0)


TRACING = True  # chaoskit's default; --tracing off turns it off
HASH_SEED = "0"
"""PYTHONHASHSEED of the processes ``--callgrind`` counts: with random string hashes, dict and set layouts differ
from process to process, and so does the count (seen: 281k and 294k per activity for the same code); fixed, two
runs agree within 1k."""


def chaoskit_runner(n: int, work: Path) -> Callable[[], Timing]:
    import chaoskit

    doc = {
        "title": f"overhead {n}",
        "tracing": {"enabled": TRACING},
        "steady_state": {"strategy": "skip"},
        "method": [
            {"name": name, kind: "python", "with": {"function": f"{NOOP_MODULE}:noop"}} for kind, name in activities(n)
        ],
    }
    path = work / f"overhead-{n}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    loaded = chaoskit.load_experiment(path)
    out = work / "runs"

    def once() -> Timing:
        options = chaoskit.RunOptions(out_dir=out, hooks=[], ledger_dir=work / "ledger")
        journal, elapsed = _timed(lambda: chaoskit.run_experiment(loaded, options))
        if journal.outcome != chaoskit.Outcome.PASSED or len(journal.activities) + len(journal.observations) != n:
            raise SystemExit(f"chaoskit run did not pass cleanly: {journal.outcome} {journal.reason}")
        return elapsed

    return once


def chaostoolkit_runner(n: int, work: Path) -> Callable[[], Timing]:
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

    def once() -> Timing:
        journal, elapsed = _timed(lambda: run_experiment(json.loads(json.dumps(experiment)), settings={}))
        if journal["status"] != "completed" or len(journal["run"]) != n:
            raise SystemExit(f"chaostoolkit run did not complete: {journal['status']}")
        return elapsed

    return once


def raw_calls(n: int) -> Timing:
    """Wall and CPU seconds to call the no-op function n times directly."""
    fn = __import__(NOOP_MODULE).noop

    def calls() -> None:
        for _ in range(n):
            fn()

    return _timed(calls)[1]


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
        t_large: list[Timing] = []
        t_small: list[Timing] = []
        t_raw: list[Timing] = []
        for _ in range(repeat):
            t_large.append(run_large())
            t_small.append(run_small())
            t_raw.append(raw_calls(large))
    result: dict[str, Any] = {"tool": tool, "activities": large, "small": small, "repeat": repeat}
    for i, clock in enumerate(("wall", "cpu")):
        result[clock] = _derive([t[i] for t in t_large], [t[i] for t in t_small], [t[i] for t in t_raw], large, small)
    return result


def _derive(t_large: list[float], t_small: list[float], t_raw: list[float], large: int, small: int) -> dict[str, Any]:
    med_large, med_small, raw = statistics.median(t_large), statistics.median(t_small), statistics.median(t_raw)
    raw_per_call = raw / large
    marginal = (med_large - med_small - raw_per_call * (large - small)) / (large - small)
    return {
        "run_large_ms": round(med_large * 1e3, 3),
        "run_large_min_max_ms": [round(min(t_large) * 1e3, 3), round(max(t_large) * 1e3, 3)],
        "run_small_ms": round(med_small * 1e3, 3),
        "raw_call_us": round(raw_per_call * 1e6, 4),
        "per_activity_ms": round(marginal * 1e3, 4),
        "fixed_per_run_ms": round((med_small - small * (marginal + raw_per_call)) * 1e3, 3),
        "amortized_per_activity_ms": round((med_large - raw) / large * 1e3, 4),
    }


def _profile(once: Callable[[], Timing]) -> str:
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


def run_once(tool: str, n: int, runs: int) -> None:
    """``runs`` runs of ``n`` activities in a fresh process (what ``--callgrind`` counts)."""
    with tempfile.TemporaryDirectory(prefix="chaoskit-bench-") as tmp:
        work = Path(tmp)
        (work / f"{NOOP_MODULE}.py").write_text(NOOP_SOURCE, encoding="utf-8")
        sys.path.insert(0, str(work))
        os.environ.setdefault("CHAOSKIT_STATE_DIR", str(work / "state"))
        os.chdir(work)
        once = (chaoskit_runner if tool == "chaoskit" else chaostoolkit_runner)(n, work)
        for _ in range(runs):
            once()


def callgrind(tool: str, large: int, small: int) -> dict[str, Any]:
    """Instructions of one run at each size (two processes each: one run, two runs), and per activity."""
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from callgrind import instructions

    me = [sys.executable, str(Path(__file__).resolve()), "--tool", tool, "--tracing", "on" if TRACING else "off"]
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED}
    subprocess.run([*me, "--once", str(small)], check=True, timeout=600, env=env)  # writes the bytecode caches
    run: dict[int, int] = {}
    for n in (small, large):
        one, two = (instructions([*me, "--once", str(n), "--runs", str(r)], env=env) for r in (1, 2))
        run[n] = two - one
    per_activity = (run[large] - run[small]) / (large - small)
    return {
        "tool": tool,
        "tracing": TRACING if tool == "chaoskit" else None,
        "hash_seed": HASH_SEED,
        "run_instructions": {str(n): c for n, c in run.items()},
        "per_activity_instructions": round(per_activity),
        "fixed_per_run_instructions": round(run[small] - small * per_activity),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool", choices=["chaoskit", "chaostoolkit"], required=True)
    parser.add_argument("--activities", type=int, default=200, help="activities in the large run (default 200)")
    parser.add_argument("--small", type=int, default=10, help="activities in the small run (default 10)")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per size (default 9)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the large run instead")
    parser.add_argument("--tracing", choices=["on", "off"], default="on", help="chaoskit's tracing (default on)")
    parser.add_argument("--callgrind", action="store_true", help="instruction counts (valgrind) instead of times")
    parser.add_argument("--once", type=int, help=argparse.SUPPRESS)  # one process's runs, for --callgrind
    parser.add_argument("--runs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global TRACING
    TRACING = args.tracing == "on"
    if args.once is not None:
        run_once(args.tool, args.once, args.runs)
        return
    if not 0 < args.small < args.activities:
        parser.error("need 0 < --small < --activities")
    if args.callgrind:
        print(json.dumps(callgrind(args.tool, args.activities, args.small)))
        return
    result = measure(args.tool, args.activities, args.small, args.repeat, args.profile)
    if "profile" in result:
        print(result["profile"])
    else:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
