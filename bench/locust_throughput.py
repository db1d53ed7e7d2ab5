"""Locust under chaoskit vs plain ``locust --headless``: throughput, and how fast stats reach the runner.

    .venv/bin/python bench/locust_throughput.py [--users 10] [--seconds 20] [--rounds 2]

One run does everything, side by side, against the same loopback target (a small asyncio HTTP server in its
own process that counts the requests it answers per second):

1. Throughput: the same locustfile (HttpUser, no wait time: Locust is the bottleneck) under
   ``chaoskit run`` (an experiment with a ``load:`` block, a pause, and a continuous ``load.error_rate``
   steady-state probe) and under plain ``locust --headless``, alternating, ``--rounds`` times each.
   Both are measured in the same steady window of each run (from 3 s after the first request, for
   ``--seconds - 6`` s): throughput is what the target answered, and CPU per request is the CPU time (user +
   system, from /proc) of every process of the run -- for chaoskit the runner and the Locust child -- over the
   requests of that window. On a shared, busy machine throughput swings with the neighbours' load; CPU per
   request barely does, so it is the steadier measure of chaoskit's overhead.
2. Stats delay: (a) as the runner measures it for every stats line (oldest request in the line completed ->
   line parsed by the runner), from the chaoskit runs' journals; (b) end to end: the target starts failing
   at T0 and the runner's series is polled every 5 ms until it shows failures; the delay is that time minus
   T0 (an upper bound: it also includes the failing request's own latency).

Targets (issue 5): chaoskit >= 95 % of plain Locust's throughput; stats delay <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

LOCUSTFILE = """
from locust import HttpUser, task


class Bench(HttpUser):
    @task
    def hit(self):
        self.client.get("/item")
"""


# -- the target ------------------------------------------------------------------------------
def serve(port_file: str) -> None:
    counts: dict[int, int] = {}
    failing = [False]
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
    bad = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\r\nfail"

    class Http(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:
                head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
                if path.startswith(b"/__"):
                    self.admin(path)
                    continue
                second = int(time.time())
                counts[second] = counts.get(second, 0) + 1
                self.transport.write(bad if failing[0] else ok)

        def admin(self, path: bytes) -> None:
            if path == b"/__fail":
                failing[0] = True
            elif path == b"/__ok":
                failing[0] = False
            body = json.dumps(counts).encode() if path == b"/__counts" else b"{}"
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n"
            self.transport.write(head.encode() + body)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Http, "127.0.0.1", 0, backlog=1024)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        await asyncio.sleep(3600)  # bounded; the bench terminates it

    asyncio.run(main())


def admin(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class Result:
    rps: float  # requests/s the target answered in the steady window
    requests: int  # requests in the steady window
    cpu_s: float  # CPU (user + system) of every process of the run in the steady window

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_s / self.requests


def served(url: str) -> int:
    return sum(admin(url, "/__counts").values())


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and every live descendant, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def steady(proc: subprocess.Popen[Any], url: str, seconds: int) -> Result:
    """Wait for the load to arrive and ramp up, then measure a window of ``seconds - 6`` seconds."""
    before = served(url)
    deadline = time.monotonic() + 120
    while served(url) == before:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("no load reached the target")
        time.sleep(0.1)
    time.sleep(3)  # ramp-up
    t0, n0, c0 = time.monotonic(), served(url), tree_cpu(proc.pid)
    time.sleep(max(2, seconds - 6))
    t1, n1, c1 = time.monotonic(), served(url), tree_cpu(proc.pid)
    return Result((n1 - n0) / (t1 - t0), n1 - n0, c1 - c0)


# -- the two contenders ----------------------------------------------------------------------
def run_plain(work: Path, url: str, users: int, seconds: int) -> Result:
    proc = subprocess.Popen(
        [str(BIN / "locust"), "-f", str(work / "locustfile.py"), "--headless", "-u", str(users), "-r", str(users * 10),
         "-t", f"{seconds}s", "-H", url, "--only-summary", "--loglevel", "WARNING"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        result = steady(proc, url, seconds)
    finally:
        proc.wait(seconds + 120)
    return result


def run_chaoskit(work: Path, url: str, users: int, seconds: int, tag: str) -> tuple[Result, dict[str, Any]]:
    import yaml

    doc = {
        "title": "bench",
        "load": {"locustfile": "locustfile.py", "host": url, "users": users, "spawn_rate": users * 10},
        "steady_state": {
            "strategy": "continuous",
            "probes": [{"probe": "load.error_rate", "with": {"last": "5s"}, "expect": {"max": 0.01}}],
        },
        "method": [{"pause": f"{seconds}s"}],
        "recovery": {"within": "5s"},
    }
    (work / "bench.yaml").write_text(yaml.safe_dump(doc))
    proc = subprocess.Popen(
        [str(BIN / "chaoskit"), "run", "bench.yaml", "--out", f"runs-{tag}", "-q", "--json"],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        result = steady(proc, url, seconds)
    finally:
        out, _ = proc.communicate(timeout=seconds + 180)
    journal = json.loads(next((work / f"runs-{tag}").glob("*/journal.json")).read_text())
    if journal["outcome"] != "passed":
        raise SystemExit(f"chaoskit run did not pass: {journal['reason']}\n{out}")
    return result, journal["load"]["stats_delay_s"]


def end_to_end_delay(work: Path, url: str, trials: int = 5) -> list[float]:
    """Flip the target to failing at T0; time until the runner's series shows a failure."""
    from chaoskit_locust.driver import LocustDriver, LocustRun
    from chaoskit_locust.params import LocustParams

    from chaoskit.plugin import Context

    params = LocustParams(locustfile=str(work / "locustfile.py"), host=url, users=2, spawn_rate=20)
    run = LocustDriver().start(params, Context(work_dir=work))
    assert isinstance(run, LocustRun)
    delays = []
    try:
        time.sleep(2)
        for _ in range(trials):
            before = run.series.span(0, time.time() + 10).failures
            t0 = time.time()
            admin(url, "/__fail")
            while run.series.span(0, time.time() + 10).failures == before and time.time() - t0 < 10:
                time.sleep(0.005)
            delays.append(time.time() - t0)
            admin(url, "/__ok")
            time.sleep(1.0)
    finally:
        run.stop()
    assert "locust" not in sys.modules, "the bench process (the runner's side) must never import locust"
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chaoskit-bench-") as tmp:
        work = Path(tmp)
        (work / "locustfile.py").write_text(LOCUSTFILE)
        port_file = work / "port"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}"
            plain: list[Result] = []
            under: list[Result] = []
            line_delays = []
            for i in range(args.rounds):
                order = ("plain", "chaoskit") if i % 2 == 0 else ("chaoskit", "plain")
                for who in order:
                    if who == "plain":
                        plain.append(run_plain(work, url, args.users, args.seconds))
                    else:
                        result, delay = run_chaoskit(work, url, args.users, args.seconds, f"r{i}")
                        under.append(result)
                        line_delays.append(delay)
                    last = (plain if who == "plain" else under)[-1]
                    print(
                        f"round {i + 1}: {who:9s} {last.rps:8.1f} req/s  {last.requests:7d} requests  "
                        f"{last.cpu_ms_per_request:6.3f} ms CPU/request",
                        flush=True,
                    )
            e2e = end_to_end_delay(work, url)
        finally:
            server.terminate()
            server.wait(10)
    p_rps, u_rps = statistics.fmean(r.rps for r in plain), statistics.fmean(r.rps for r in under)
    p_cpu = sum(r.cpu_s for r in plain) / sum(r.requests for r in plain) * 1000
    u_cpu = sum(r.cpu_s for r in under) / sum(r.requests for r in under) * 1000
    print()
    print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}; {args.users} users, "
          f"{args.seconds}s per run, {args.rounds} rounds")  # fmt: skip
    print(f"throughput  plain locust --headless : {p_rps:8.1f} req/s  {[round(r.rps) for r in plain]}")
    print(f"throughput  under chaoskit          : {u_rps:8.1f} req/s  {[round(r.rps) for r in under]}")
    print(f"ratio chaoskit / plain (throughput) : {u_rps / p_rps:8.1%}   (target >= 95%)")
    print(f"CPU per request plain / chaoskit    : {p_cpu:.3f} / {u_cpu:.3f} ms  -> efficiency {p_cpu / u_cpu:.1%} "
          "(all processes of each run)")  # fmt: skip
    print("stats delay per line (runner-side)  : " + "; ".join(
        f"p50 {d['p50']:.3f}s p95 {d['p95']:.3f}s max {d['max']:.3f}s ({d['lines']} lines)" for d in line_delays
    ))  # fmt: skip
    print(f"stats delay end to end (fail -> seen): median {statistics.median(e2e):.3f}s max {max(e2e):.3f}s "
          f"{[round(d, 3) for d in e2e]}   (target <= 1 s)")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
    else:
        main()
