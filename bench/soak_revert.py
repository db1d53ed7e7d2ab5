"""Soak: interrupt a real `chaoskit run` at random instants and count what it leaves behind.

Each trial starts `chaoskit run` on one experiment that holds five faults at once -- a Toxiproxy latency toxic on a
proxy the run declares, a second declared proxy disabled (`toxiproxy.down`), `host.pause` of a sleeper process,
a `host.disk_fill` file and one `host.cpu_stress` worker -- and, after a random delay (0 to a little past the moment
every fault is in place), sends one of: SIGINT, SIGTERM, SIGINT to the process group (Ctrl-C in a terminal), or
SIGKILL. No command is typed after it.

Residue is counted from outside:
- SIGINT / SIGTERM / Ctrl-C: right after the runner exits (it must have reverted everything itself);
- SIGKILL: within 5 s after the kill (the guardian alone must revert everything); the time is recorded.
What counts as residue: a toxic on any proxy, a declared proxy left, a disabled proxy, a stopped (T) sleeper, a fill
file, a stress worker, a ledger or ledger temp file, a guardian process still alive (5 s after the runner exited),
a live-run file. After a trial with residue the harness cleans up (rollback --force and by hand) and goes on.

Bounded: at most --trials trials and --minutes minutes; prints one line per trial, a summary at the end, and writes
it as JSON with --json. Real Toxiproxy (`scripts/setup-toxiproxy.sh`), real processes, 127.0.0.1 only.

    .venv/bin/python bench/soak_revert.py --trials 200 --minutes 30 --json soak.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaoskit_toxiproxy import ToxiproxyServer

from chaoskit.ports import free_port

CHAOSKIT = str(Path(sys.executable).with_name("chaoskit"))
SIGNALS = ("SIGINT", "SIGTERM", "ctrl-c", "SIGKILL")

EXPERIMENT = """\
title: soak five faults
toxiproxy:
  url: "{url}"
  proxies:
    - {{name: soak_slow, listen: "127.0.0.1:{slow}", upstream: "{upstream}"}}
    - {{name: soak_down, listen: "127.0.0.1:{down}", upstream: "{upstream}"}}
method:
  - fault: toxiproxy.latency
    with: {{proxy: soak_slow, latency_ms: 300}}
  - fault: toxiproxy.down
    with: {{proxy: soak_down}}
  - fault: host.pause
    with: {{pid: {sleeper}}}
  - fault: host.disk_fill
    with: {{path: "{fill}", size_mib: 16, min_free_mib: 256}}
  - fault: host.cpu_stress
    with: {{workers: 1, load_percent: 10, max_lifetime: 2m}}
  - pause: 30s
safety: {{max_duration: 2m, guardian: {{heartbeat: 500ms, grace: 5s}}}}
"""


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


@dataclass
class Trial:
    n: int
    sig: str
    delay_s: float
    exit_code: int | None
    residue: list[str]
    clean_after_s: float | None = None
    """SIGKILL: seconds from the kill until no residue was left (the guardian's work)."""
    note: str = ""
    """An exit other than 130 after SIGINT/SIGTERM/Ctrl-C: the journal's outcome and reason, or stderr's end."""


@dataclass
class World:
    toxi: ToxiproxyServer
    sleeper: subprocess.Popen[bytes]
    work: Path
    state: Path
    fill: Path
    trials: list[Trial] = field(default_factory=list)
    run_pids: set[int] = field(default_factory=set)
    keep: Path | None = None
    """Where to copy the stderr and run folder (journal) of each trial that did not end in 130 (``--keep``)."""

    def ours(self, argv: bytes) -> bool:
        """A stress worker of one of our runs, or a guardian of our state folder (other runs on the machine are not
        ours to count or kill)."""
        if b"chaoskit_host.worker" in argv:
            parts = argv.split(b"\0")
            parent = parts[parts.index(b"--parent") + 1] if b"--parent" in parts else b""
            return parent.isdigit() and int(parent) in self.run_pids
        return b"chaoskit.run.guardian" in argv and str(self.state).encode() in argv

    def env(self) -> dict[str, str]:
        return {**os.environ, "CHAOSKIT_STATE_DIR": str(self.state)}

    def residue(self) -> list[str]:
        found: list[str] = []
        client = self.toxi.client()
        for name, proxy in client.proxies().items():
            found.append(f"proxy {name} left")
            found += [f"toxic {t.name} on {name}" for t in proxy.toxics]
            if not proxy.enabled:
                found.append(f"proxy {name} disabled")
        if _state(self.sleeper.pid) == "T":
            found.append("sleeper stopped")
        found += [f"fill file {p.name}" for p in self.fill.glob("*")]
        for pid, argv in _procs():
            if self.ours(argv) and _state(pid) not in "ZX":
                kind = "stress worker" if b"chaoskit_host.worker" in argv else "guardian"
                found.append(f"{kind} {pid} alive")
        ledger = self.state / "ledger"
        found += [f"ledger file {p.name}" for p in ledger.glob("*")] if ledger.is_dir() else []
        runs = self.state / "runs"
        found += [f"live-run file {p.name}" for p in runs.glob("*")] if runs.is_dir() else []
        return found

    def clean(self) -> None:
        subprocess.run([CHAOSKIT, "rollback", "--force"], env=self.env(), capture_output=True, timeout=120)
        client = self.toxi.client()
        for name in client.proxies():
            client.delete_proxy(name)
        self.sleeper.send_signal(signal.SIGCONT)
        for path in self.fill.glob("*"):
            path.unlink()
        for pid, argv in _procs():
            if self.ours(argv):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.state / "runs", ignore_errors=True)
        shutil.rmtree(self.state / "ledger", ignore_errors=True)


def _procs() -> list[tuple[int, bytes]]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                out.append((int(entry.name), (entry / "cmdline").read_bytes()))
    return out


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def _start_run(world: World) -> subprocess.Popen[bytes]:
    with (world.work / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen(
            [CHAOSKIT, "run", "exp.yaml", "-q", "--out", str(world.work / "runs")],
            cwd=world.work,
            env=world.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    world.run_pids.add(proc.pid)
    return proc


def time_to_injected(world: World) -> float:
    """One unmeasured run: how long until every fault is in place (the window the signals are spread over)."""
    started = time.monotonic()
    proc = _start_run(world)
    try:
        while not (list(world.fill.glob("*")) and _state(world.sleeper.pid) == "T" and _has_worker(world, proc.pid)):
            if proc.poll() is not None or time.monotonic() - started > 120:
                raise SystemExit(f"the calibration run ended early (exit {proc.returncode}) or never injected")
            time.sleep(0.01)
        return time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def _has_worker(world: World, run_pid: int) -> bool:
    return any(b"chaoskit_host.worker" in argv and world.ours(argv) for _, argv in _procs())


def _why(world: World) -> str:
    """What the run said about itself: its journal's outcome and reason, else the end of its stderr."""
    journals = sorted((world.work / "runs").glob("*/journal.json"), key=lambda p: p.stat().st_mtime)
    if journals:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(journals[-1].read_text())
            return f"journal: {data.get('outcome')}: {data.get('reason')}"
    err = (world.work / "stderr.txt").read_text(errors="replace").strip().splitlines()
    return "stderr: " + " | ".join(err[-4:])


def trial(world: World, n: int, window: float, rng: random.Random, signals: tuple[str, ...] = SIGNALS) -> Trial:
    shutil.rmtree(world.work / "runs", ignore_errors=True)
    sig = rng.choice(signals)
    delay = rng.uniform(0.0, window)
    proc = _start_run(world)
    time.sleep(delay)
    if proc.poll() is None:
        if sig == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.Signals[sig])
    killed = time.monotonic()
    try:
        code = proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    if sig != "SIGKILL":
        deadline = time.monotonic() + 5  # the guardian (if one started) exits once told the run is done
        while (left := world.residue()) and all("guardian" in r for r in left) and time.monotonic() < deadline:
            time.sleep(0.05)
        note = _why(world) if code not in (130, -2, -15) else ""
        if note and world.keep is not None:
            kept = world.keep / f"trial-{n}-exit-{code}"
            kept.mkdir(parents=True, exist_ok=True)
            if (world.work / "runs").is_dir():
                shutil.copytree(world.work / "runs", kept / "runs", dirs_exist_ok=True)
            shutil.copy(world.work / "stderr.txt", kept / "stderr.txt")
        return Trial(n, sig, round(delay, 3), code, world.residue(), note=note)
    while (left := world.residue()) and time.monotonic() - killed < 5:
        time.sleep(0.02)
    clean_after = None if left else round(time.monotonic() - killed, 3)
    return Trial(n, sig, round(delay, 3), code, left, clean_after)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--signals", default=",".join(SIGNALS), help=f"a subset of {','.join(SIGNALS)}")
    parser.add_argument("--keep", type=Path, default=None, help="keep stderr and journal of trials not ending in 130")
    args = parser.parse_args()
    # Started in the background of a script (`soak &`), this process inherits SIGINT ignored, and so would every run
    # it starts: a SIGINT before chaoskit's first line would then be lost (the run goes on and may pass). A handler
    # here is reset to the default in each child, as a terminal gives it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="chaoskit-soak-"))
    echo = _EchoServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    toxi = ToxiproxyServer().start()
    sleep_bin = work / "soaksleeper"
    sleep_bin.symlink_to(shutil.which("sleep") or "/bin/sleep")
    sleeper = subprocess.Popen([str(sleep_bin), "100000"])
    world = World(toxi, sleeper, work, work / "state", work / "fill", keep=args.keep)
    world.fill.mkdir()
    upstream = f"127.0.0.1:{echo.server_address[1]}"
    (work / "exp.yaml").write_text(
        EXPERIMENT.format(
            url=toxi.url, slow=free_port(), down=free_port(), upstream=upstream, sleeper=sleeper.pid, fill=world.fill
        )
    )
    ended = time.monotonic() + args.minutes * 60
    try:
        window = time_to_injected(world) + 0.5
        world.clean()
        print(
            f"soak: seed {seed}; every fault is in place {window - 0.5:.2f}s after start; signals at 0..{window:.2f}s",
            flush=True,
        )
        for n in range(1, args.trials + 1):
            if time.monotonic() >= ended:
                break
            result = trial(world, n, window, rng, tuple(args.signals.split(",")))
            world.trials.append(result)
            extra = f" clean after {result.clean_after_s}s" if result.clean_after_s is not None else ""
            print(
                f"trial {n}: {result.sig} at {result.delay_s}s exit {result.exit_code}{extra} "
                f"residue {result.residue or 'none'}" + (f" ({result.note})" if result.note else ""),
                flush=True,
            )
            if result.residue:
                world.clean()
    finally:
        sleeper.kill()
        sleeper.wait()
        world.clean()
        toxi.stop()
        echo.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    summary = summarize(world.trials, seed)
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if summary["trials_with_residue"] else 0


def summarize(trials: list[Trial], seed: int) -> dict[str, Any]:
    kills = sorted(t.clean_after_s for t in trials if t.sig == "SIGKILL" and t.clean_after_s is not None)
    return {
        "seed": seed,
        "trials": len(trials),
        "by_signal": dict(Counter(t.sig for t in trials)),
        "exit_codes": dict(Counter(str(t.exit_code) for t in trials)),
        "trials_with_residue": sum(1 for t in trials if t.residue),
        "other_exits": [{"trial": t.n, "signal": t.sig, "exit": t.exit_code, "why": t.note} for t in trials if t.note],
        "residue": [
            {"trial": t.n, "signal": t.sig, "delay_s": t.delay_s, "left": t.residue} for t in trials if t.residue
        ],
        "sigkill_clean_after_s": {
            "n": len(kills),
            "median": kills[len(kills) // 2] if kills else None,
            "max": kills[-1] if kills else None,
        },
    }


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    sys.exit(main())
