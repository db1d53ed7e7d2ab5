"""chaoskit vs Chaos Toolkit on the same trivial experiment, side by side in one run.

The experiment (written in both formats): a steady state of two HTTP probes on a real local server
(status 200 each), one process action in the method, one process rollback. Measured for both tools:

* CLI wall time of ``--help``, ``validate`` and ``run`` (N runs each, alternating which tool goes
  first, after one unmeasured warm-up round), reported as median and min-max;
* peak RSS of each command (``/usr/bin/time -f %M``, else a fresh wrapper process's
  ``RUSAGE_CHILDREN``);
* in-process overhead per activity (``bench/inprocess.py``, run with each tool's own Python).

Chaos Toolkit 1.19 is installed from PyPI into its own venv under
``${CHAOSKIT_CACHE:-~/.cache/chaoskit}/bench/ctk-venv`` on first use. Run from the repo root::

    .venv/bin/python bench/core_vs_chaostoolkit.py [--runs 7] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("CHAOSKIT_CACHE") or Path.home() / ".cache" / "chaoskit")
CTK_VENV = CACHE / "bench" / "ctk-venv"
CTK_SPEC = "chaostoolkit==1.19.*"
COMMANDS = ("help", "validate", "run")
TOOLS = ("chaoskit", "chaostoolkit")
TIME_BIN = "/usr/bin/time"


# -- the system under test -------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's default backlog (5) stalls under bursts
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        known = self.path in ("/health", "/ready")
        body = json.dumps({"status": "up" if known else "unknown"}).encode()
        self.send_response(200 if known else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_server() -> _Server:
    server = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, name="bench http", daemon=True).start()
    return server


# -- the experiment, in both formats ---------------------------------------------------------------
def chaoskit_experiment(base_url: str) -> dict[str, Any]:
    def probe(name: str, path: str) -> dict[str, Any]:
        params = {"url": base_url + path, "timeout": "5s"}
        return {"name": name, "probe": "http", "with": params, "expect": {"status": 200}}

    def action(name: str, word: str) -> dict[str, Any]:
        return {"name": name, "action": "process", "with": {"command": ["echo", word], "timeout": "10s"}}

    return {
        "title": "bench: two probes, one action, one rollback",
        "description": "The same trivial experiment as bench/ writes for Chaos Toolkit.",
        "steady_state": {"probes": [probe("health", "/health"), probe("ready", "/ready")]},
        "method": [action("inject", "injected")],
        "rollbacks": [action("cleanup", "rolled-back")],
        "recovery": {"within": "10s", "interval": "250ms"},
    }


def chaostoolkit_experiment(base_url: str) -> dict[str, Any]:
    def probe(name: str, path: str) -> dict[str, Any]:
        provider = {"type": "http", "url": base_url + path, "timeout": 5}
        return {"type": "probe", "name": name, "tolerance": 200, "provider": provider}

    def action(name: str, word: str) -> dict[str, Any]:
        provider = {"type": "process", "path": "echo", "arguments": [word], "timeout": 10}
        return {"type": "action", "name": name, "provider": provider}

    return {
        "version": "1.0.0",
        "title": "bench: two probes, one action, one rollback",
        "description": "The same trivial experiment as bench/ writes for chaoskit.",
        "steady-state-hypothesis": {
            "title": "the service is up",
            "probes": [probe("health", "/health"), probe("ready", "/ready")],
        },
        "method": [action("inject", "injected")],
        "rollbacks": [action("cleanup", "rolled-back")],
    }


def write_experiments(directory: Path, base_url: str) -> tuple[Path, Path]:
    """Write ``experiment.yaml`` (chaoskit) and ``experiment.json`` (Chaos Toolkit); return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    ck, ctk = directory / "experiment.yaml", directory / "experiment.json"
    ck.write_text(yaml.safe_dump(chaoskit_experiment(base_url), sort_keys=False), encoding="utf-8")
    ctk.write_text(json.dumps(chaostoolkit_experiment(base_url), indent=2), encoding="utf-8")
    return ck, ctk


# -- tools -----------------------------------------------------------------------------------------
def ensure_chaostoolkit(python: str) -> Path:
    """The ``chaos`` command of a Chaos Toolkit 1.19 venv in the cache (created on first use)."""
    chaos = CTK_VENV / "bin" / "chaos"
    if chaos.exists() and list(CTK_VENV.glob("lib/python*/site-packages/chaostoolkit-1.19.*.dist-info")):
        return chaos
    print(f"installing {CTK_SPEC} into {CTK_VENV} (once)...", file=sys.stderr)
    CTK_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([python, "-m", "venv", "--clear", str(CTK_VENV)], check=True, timeout=300)
    pip = [str(CTK_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, CTK_SPEC], check=True, timeout=900)
    return chaos


def commands(tool: str, exe: Path, work: Path, experiment: Path) -> dict[str, list[str]]:
    if tool == "chaoskit":
        return {
            "help": [str(exe), "--help"],
            "validate": [str(exe), "validate", str(experiment)],
            "run": [str(exe), "run", str(experiment), "--out", str(work / "runs")],
        }
    # No version check (it calls releases.chaostoolkit.org) and no log file: chaoskit does neither.
    common = [str(exe), "--no-version-check", "--no-log-file", "--settings", str(work / "settings.yaml")]
    return {
        "help": [str(exe), "--help"],
        "validate": [*common, "validate", str(experiment)],
        "run": [*common, "run", "--journal-path", str(work / "journal.json"), str(experiment)],
    }


_RUSAGE_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[2:]).returncode\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1], 'w').write(f'{r.ru_maxrss} {r.ru_utime} {r.ru_stime}')\n"
    "sys.exit(rc)\n"
)


def measure(
    argv: list[str], cwd: Path, env: dict[str, str]
) -> tuple[dict[str, float], subprocess.CompletedProcess[str]]:
    """Run once: wall ms, CPU ms (user + sys) and peak RSS (MiB) of the command, and the completed process."""
    usage_file = cwd / ".rusage"
    if os.access(TIME_BIN, os.X_OK):
        wrapped = [TIME_BIN, "-f", "%M %U %S", "-o", str(usage_file), *argv]
    else:
        wrapped = [sys.executable, "-c", _RUSAGE_WRAPPER, str(usage_file), *argv]
    t0 = time.perf_counter()
    proc = subprocess.run(wrapped, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    wall = time.perf_counter() - t0
    kib, user, system = usage_file.read_text().split()[-3:]
    return {"wall_ms": wall * 1e3, "cpu_ms": (float(user) + float(system)) * 1e3, "rss_mib": int(kib) / 1024}, proc


def check_run(tool: str, work: Path, proc: subprocess.CompletedProcess[str], hits: int) -> None:
    """Each measured run must really have done the experiment: exit 0, four probes hit, rollback run."""
    if proc.returncode != 0:
        raise SystemExit(f"{tool} run failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    if hits < 4:
        raise SystemExit(f"{tool} run probed the server {hits} times; expected 4 (2 before, 2 after)")
    if tool == "chaoskit":
        journal = json.loads(max((work / "runs").glob("*/journal.json"), key=lambda p: p.stat().st_mtime).read_text())
        ok = journal["outcome"] == "passed" and [a["name"] for a in journal["activities"]] == ["inject", "cleanup"]
    else:
        journal = json.loads((work / "journal.json").read_text())
        ok = journal["status"] == "completed" and len(journal["rollbacks"]) == 1 and not journal["deviated"]
    if not ok:
        raise SystemExit(f"{tool} run did not do the whole experiment; journal:\n{json.dumps(journal)[:2000]}")


def bench_cli(exes: dict[str, Path], runs: int, warmup: int) -> dict[str, Any]:
    server = start_server()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    samples: dict[str, dict[str, dict[str, list[float]]]] = {
        t: {c: {"wall_ms": [], "cpu_ms": [], "rss_mib": []} for c in COMMANDS} for t in TOOLS
    }
    try:
        with tempfile.TemporaryDirectory(prefix="chaoskit-bench-") as tmp:
            root = Path(tmp)
            ck_file, ctk_file = write_experiments(root / "experiments", base_url)
            files = {"chaoskit": ck_file, "chaostoolkit": ctk_file}
            work = {t: root / t for t in TOOLS}
            for w in work.values():
                w.mkdir()
            env = {**os.environ, "CHAOSKIT_STATE_DIR": str(root / "state"), "NO_COLOR": "1"}
            # Python's default: bytecode is cached, so the warm-up round writes .pyc files for both tools
            # (pip compiles them at install time, uv does not).
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            argvs = {t: commands(t, exes[t], work[t], files[t]) for t in TOOLS}
            for round_no in range(warmup + runs):
                order = TOOLS if round_no % 2 == 0 else TOOLS[::-1]
                for command in COMMANDS:
                    for tool in order:
                        before = _Handler.hits
                        usage, proc = measure(argvs[tool][command], work[tool], env)
                        if command == "run":
                            check_run(tool, work[tool], proc, _Handler.hits - before)
                        elif proc.returncode != 0:
                            raise SystemExit(f"{tool} {command} failed: {proc.stderr[-2000:]}")
                        if round_no >= warmup:
                            for key, value in usage.items():
                                samples[tool][command][key].append(value)
    finally:
        server.shutdown()
        server.server_close()
    return {
        tool: {command: {k: _stats(v) for k, v in per.items()} for command, per in cmds.items()}
        for tool, cmds in samples.items()
    }


def _stats(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "all": [round(v, 2) for v in values],
    }


def bench_inprocess(pythons: dict[str, Path], activities: int, repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for tool in TOOLS:
        argv = [str(pythons[tool]), str(BENCH / "inprocess.py"), "--tool", tool]
        argv += ["--activities", str(activities), "--repeat", str(repeat)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"in-process bench for {tool} failed:\n{proc.stderr[-3000:]}")
        results[tool] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results


# -- report ----------------------------------------------------------------------------------------
def table(cli: dict[str, Any], inproc: dict[str, Any] | None) -> str:
    def cell(s: dict[str, Any], fmt: str) -> str:
        return f"{s['median']:{fmt}} ({s['min']:{fmt}}-{s['max']:{fmt}})"

    rows = [("", "chaoskit", "Chaos Toolkit", "ck/ctk")]
    for command in COMMANDS:
        for key, label, fmt in (
            ("wall_ms", "wall ms", ".0f"),
            ("cpu_ms", "CPU ms", ".0f"),
            ("rss_mib", "peak RSS MiB", ".1f"),
        ):
            a, b = cli["chaoskit"][command][key], cli["chaostoolkit"][command][key]
            rows.append((f"{command:<8} {label}", cell(a, fmt), cell(b, fmt), f"{a['median'] / b['median']:.2f}"))
    if inproc:
        n = inproc["chaoskit"]["activities"]
        keys = (
            ("per_activity_ms", "per activity ms"),
            ("fixed_per_run_ms", "fixed per run ms"),
            ("amortized_per_activity_ms", f"all/{n} ms"),
        )
        for clock in ("wall", "cpu"):
            a, b = inproc["chaoskit"][clock], inproc["chaostoolkit"][clock]
            for key, label in keys:
                ratio = f"{a[key] / b[key]:.2f}" if b[key] > 0 else "-"
                rows.append((f"in-proc  {clock} {label}", f"{a[key]:.4f}", f"{b[key]:.4f}", ratio))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def targets(cli: dict[str, Any], inproc: dict[str, Any] | None) -> dict[str, Any]:
    ck_run, ctk_run = cli["chaoskit"]["run"]["wall_ms"]["median"], cli["chaostoolkit"]["run"]["wall_ms"]["median"]
    out: dict[str, Any] = {"run_wall_le_chaostoolkit": {"chaoskit_ms": ck_run, "chaostoolkit_ms": ctk_run}}
    out["run_wall_le_chaostoolkit"]["met"] = ck_run <= ctk_run
    if inproc:
        for clock in ("wall", "cpu"):
            per = inproc["chaoskit"][clock]["per_activity_ms"]
            out[f"per_activity_le_0.1ms ({clock})"] = {"chaoskit_ms": per, "met": per <= 0.1}
    return out


def bench_instructions(exes: dict[str, Path]) -> dict[str, dict[str, int]]:
    """Instructions of each tool's ``--help``, ``validate`` and ``run`` (callgrind; one run each after an
    unmeasured one that writes the bytecode caches). Only the tool's own process is counted: chaoskit's
    guardian child (a separate process) is not."""
    from callgrind import instructions

    server = start_server()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    counts: dict[str, dict[str, int]] = {t: {} for t in TOOLS}
    try:
        with tempfile.TemporaryDirectory(prefix="chaoskit-bench-") as tmp:
            root = Path(tmp)
            ck_file, ctk_file = write_experiments(root / "experiments", base_url)
            files = {"chaoskit": ck_file, "chaostoolkit": ctk_file}
            env = {**os.environ, "CHAOSKIT_STATE_DIR": str(root / "state"), "NO_COLOR": "1"}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            for tool in TOOLS:
                work = root / tool
                work.mkdir()
                for command, argv in commands(tool, exes[tool], work, files[tool]).items():
                    subprocess.run(argv, cwd=work, env=env, capture_output=True, timeout=300, check=False)
                    counts[tool][command] = instructions(argv, env=env, cwd=work)
                    print(f"{tool} {command}: {counts[tool][command]:,} instructions", file=sys.stderr)
    finally:
        server.shutdown()
        server.server_close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="measured runs per tool and command (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (default 1)")
    parser.add_argument("--activities", type=int, default=200, help="activities in the in-process run (default 200)")
    parser.add_argument("--repeat", type=int, default=9, help="in-process timed runs per size (default 9)")
    parser.add_argument("--skip-inprocess", action="store_true", help="only the CLI comparison")
    parser.add_argument("--python", default=shutil.which("python3") or sys.executable, help="Python for the ctk venv")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this file")
    parser.add_argument("--callgrind-only", action="store_true", help="only the instruction counts (valgrind)")
    args = parser.parse_args()

    chaoskit_exe = Path(sys.executable).with_name("chaoskit")
    if not chaoskit_exe.exists():
        raise SystemExit(f"{chaoskit_exe} not found: run this with the project's venv (.venv/bin/python)")
    chaos = ensure_chaostoolkit(args.python)
    if args.callgrind_only:
        counts = bench_instructions({"chaoskit": chaoskit_exe, "chaostoolkit": chaos})
        for command in COMMANDS:
            ck, ctk = counts["chaoskit"][command], counts["chaostoolkit"][command]
            print(f"{command:9} chaoskit {ck:>15,}  chaostoolkit {ctk:>15,}  x{ck / ctk:.2f}")
        if args.json:
            args.json.write_text(json.dumps({"instructions": counts}, indent=2) + "\n", encoding="utf-8")
        return
    load_before = os.getloadavg()
    cli = bench_cli({"chaoskit": chaoskit_exe, "chaostoolkit": chaos}, args.runs, args.warmup)
    inproc = None
    if not args.skip_inprocess:
        pythons = {"chaoskit": Path(sys.executable), "chaostoolkit": chaos.with_name("python")}
        inproc = bench_inprocess(pythons, args.activities, args.repeat)
    result: dict[str, Any] = {
        "meta": {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "runs": args.runs,
            "rusage_via": TIME_BIN if os.access(TIME_BIN, os.X_OK) else "RUSAGE_CHILDREN of a wrapper process",
            "chaostoolkit": CTK_SPEC,
        },
        "cli": cli,
        "inprocess": inproc,
        "targets": targets(cli, inproc),
    }
    print(table(cli, inproc))
    for name, target in result["targets"].items():
        print(f"target {name}: {'met' if target['met'] else 'NOT met'} {target}")
    print(f"load average before/after: {result['meta']['loadavg_before']} / {result['meta']['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
