"""Real open-source test suites with and without chaoskit installed, side by side in one run.

For each project (click and itsdangerous, their sdists from PyPI, which ship the tests), two virtualenvs made
by uv: the project, pytest and the project's test requirements; and the same plus chaoskit and
chaoskit-locust installed as a user would (``pip install chaoskit chaoskit-locust``, built from this checkout;
Locust itself is opt-in and not installed). Then, alternating which environment goes first, N rounds of

* ``pytest --collect-only -q`` (collection wall time, the number of tests collected) and
* ``pytest -q`` (wall time, the outcome counts),

plus one run with a tiny recording plugin that lists the modules loaded by the end of the session.
Reported: median (min-max) wall times, the with/without ratio, whether the counts are identical, and
which modules the installed chaoskit adds. itsdangerous's tests use freezegun, which walks every attribute
of every loaded module (the walk that once imported chaoskit's whole engine).

Run from the repo root (PyPI access needed; the sdists and venvs are kept under
``${CHAOSKIT_CACHE:-~/.cache/chaoskit}/bench/pytest-repos``)::

    .venv/bin/python bench/pytest_repos.py [--runs 5] [--json results.json]
    .venv/bin/python bench/pytest_repos.py --only itsdangerous --callgrind   # + instructions of one whole run

``--callgrind`` adds the instructions of one whole ``pytest -q`` run per environment (valgrind's callgrind; the
count does not depend on the machine's load, unlike the wall times; about 50x slower, so best with ``--only``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("CHAOSKIT_CACHE") or Path.home() / ".cache" / "chaoskit")
WORK = CACHE / "bench" / "pytest-repos"
# project: (sdist requirement, test requirements)
PROJECTS: dict[str, tuple[str, list[str]]] = {
    "click": ("click==8.5.1", []),
    "itsdangerous": ("itsdangerous==2.2.0", ["freezegun"]),
}
COUNTS = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|warnings?|deselected)")
RECORDER = """
import json, os, sys

def pytest_unconfigure(config):
    with open(os.environ["BENCH_MODULES_OUT"], "w") as fh:
        json.dump(sorted(sys.modules), fh)
"""


def find_uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(CACHE / "uv-venv" / "bin" / "uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("uv not found: run `source scripts/bootstrap.sh` first (it installs uv)")


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False, **kwargs)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def sdist(requirement: str) -> Path:
    """The project's unpacked sdist (downloaded once with pip, the ordinary client)."""
    name, version = requirement.split("==")
    folder = WORK / f"{name}-{version}"
    if (folder / "tests").is_dir():
        return folder
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"downloading the {requirement} sdist...", file=sys.stderr)
    pip = [shutil.which("python3") or "python3", "-m", "pip"]  # the .venv (made by uv) has no pip
    run([*pip, "download", "--quiet", "--no-deps", "--no-binary", ":all:", "--dest", str(WORK), requirement])
    (archive,) = WORK.glob(f"{name}-{version}.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(WORK, filter="data")
    return folder


def make_env(name: str, requirements: list[str]) -> Path:
    """A fresh virtualenv (uv) with these requirements; returns its python."""
    where = WORK / "envs" / name
    shutil.rmtree(where, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    run([find_uv(), "venv", "--quiet", "--python", sys.executable, str(where)], env=env)
    python = where / "bin" / "python"
    run([find_uv(), "pip", "install", "--quiet", "--python", str(python), *requirements], env=env)
    return python


def clean_env(**extra: str) -> dict[str, str]:
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CHAOSKIT")) and k not in drop}
    return {**env, **extra}


def timed_pytest(python: Path, project: Path, *args: str) -> tuple[float, float, str]:
    """Wall and CPU (user + system, from the children's rusage) seconds of one pytest run, and its output."""
    cmd = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=project, env=clean_env(), capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} in {project} exited {out.returncode}:\n{out.stdout[-3000:]}{out.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def counts(output: str) -> dict[str, int]:
    last = [line for line in output.splitlines() if line.strip()][-1]
    found = {
        kind.rstrip("s") if kind.startswith(("error", "warning")) else kind: int(n) for n, kind in COUNTS.findall(last)
    }
    collected = re.search(r"(\d+) tests? collected", output)
    if collected:
        found["collected"] = int(collected.group(1))
    return found


def modules(python: Path, project: Path, recorder_dir: Path) -> set[str]:
    out_file = recorder_dir / f"modules-{python.parent.parent.name}.json"
    env = clean_env(PYTHONPATH=str(recorder_dir), BENCH_MODULES_OUT=str(out_file))
    cmd = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "bench_modules_recorder"]
    subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=1800, check=False)
    return set(json.loads(out_file.read_text()))


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def bench_project(name: str, runs: int, pytest_version: str, callgrind: bool = False) -> dict[str, Any]:
    requirement, test_requirements = PROJECTS[name]
    project = sdist(requirement)
    base = [f"pytest=={pytest_version}", *test_requirements, str(project)]
    print(f"{name}: building the two environments...", file=sys.stderr)
    pythons = {
        "without": make_env(f"{name}-without", base),
        "with": make_env(f"{name}-with", [*base, str(ROOT), str(ROOT / "plugins" / "locust")]),
    }
    results: dict[str, dict[str, list[Any]]] = {
        side: {"collect": [], "run": [], "run_cpu": [], "counts": []} for side in pythons
    }
    for round_no in range(runs + 1):  # round 0 warms the caches (bytecode, page cache) and is not counted
        order = list(pythons) if round_no % 2 == 0 else list(reversed(pythons))
        for side in order:
            collect_wall, _, collect_out = timed_pytest(pythons[side], project, "--collect-only", "-q")
            run_wall, run_cpu, run_out = timed_pytest(pythons[side], project, "-q")
            if round_no:
                results[side]["collect"].append(collect_wall)
                results[side]["run"].append(run_wall)
                results[side]["run_cpu"].append(run_cpu)
                results[side]["counts"].append({**counts(run_out), "collected": counts(collect_out).get("collected")})
        print(f"{name}: round {round_no}/{runs} done", file=sys.stderr)
    recorder_dir = WORK / "recorder"
    recorder_dir.mkdir(parents=True, exist_ok=True)
    (recorder_dir / "bench_modules_recorder.py").write_text(RECORDER)
    loaded = {side: modules(python, project, recorder_dir) for side, python in pythons.items()}
    added = sorted(loaded["with"] - loaded["without"])
    report: dict[str, Any] = {"project": requirement, "pytest": pytest_version, "runs": runs, "modules_added": added}
    for side in pythons:
        report[side] = {
            "collect_s": summary(results[side]["collect"]),
            "run_s": summary(results[side]["run"]),
            "run_cpu_s": summary(results[side]["run_cpu"]),
            "counts": results[side]["counts"][0],
            "counts_stable": all(c == results[side]["counts"][0] for c in results[side]["counts"]),
        }
    if callgrind:
        from callgrind import instructions

        cmd = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        report["instructions"] = {
            side: instructions([str(python), *cmd], env=clean_env(), cwd=project) for side, python in pythons.items()
        }
    report["counts_identical"] = results["with"]["counts"] == results["without"]["counts"]
    report["run_ratio"] = report["with"]["run_s"]["median"] / report["without"]["run_s"]["median"]
    report["run_cpu_ratio"] = report["with"]["run_cpu_s"]["median"] / report["without"]["run_cpu_s"]["median"]
    report["collect_ratio"] = report["with"]["collect_s"]["median"] / report["without"]["collect_s"]["median"]
    return report


def show(report: dict[str, Any]) -> None:
    def span(s: dict[str, float]) -> str:
        return f"{s['median'] * 1000:7.0f} ms ({s['min'] * 1000:.0f}-{s['max'] * 1000:.0f})"

    print(f"\n{report['project']} (pytest {report['pytest']}, {report['runs']} rounds)")
    print(f"  {'':17} {'collection (wall)':>26} {'whole run (wall)':>26} {'whole run (CPU)':>26}")
    for side in ("without", "with"):
        data = report[side]
        times = [span(data["collect_s"]), span(data["run_s"]), span(data["run_cpu_s"])]
        print(f"  {side + ' chaoskit':17} " + " ".join(f"{t:>26}" for t in times))
    for side in ("without", "with"):
        shown = ", ".join(f"{k} {v}" for k, v in sorted(report[side]["counts"].items()))
        print(f"  counts {side + ' chaoskit':17} {shown}")
    print(
        f"  with/without (medians): collection x{report['collect_ratio']:.3f}, whole run x{report['run_ratio']:.3f} "
        f"wall, x{report['run_cpu_ratio']:.3f} CPU; counts identical in every round: {report['counts_identical']}"
    )
    if "instructions" in report:
        ins = report["instructions"]
        print(
            f"  instructions of one whole run (callgrind): without {ins['without']:,}, with {ins['with']:,} "
            f"(x{ins['with'] / ins['without']:.4f})"
        )
    print(f"  modules chaoskit adds to the session: {', '.join(report['modules_added']) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rounds per environment (default 5)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions of one whole run")
    parser.add_argument("--only", choices=sorted(PROJECTS), action="append", help="bench only this project")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    pytest_version = importlib.metadata.version("pytest")
    reports = [
        bench_project(name, args.runs, pytest_version, args.callgrind) for name in (args.only or sorted(PROJECTS))
    ]
    for report in reports:
        show(report)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    if not all(r["counts_identical"] for r in reports):
        raise SystemExit("the test counts differ with chaoskit installed")


if __name__ == "__main__":
    main()
