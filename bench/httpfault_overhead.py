"""HTTP fault proxy overhead and delay accuracy, side by side with a direct connection and Toxiproxy, in one run.

    .venv/bin/python bench/httpfault_overhead.py [--samples 1000] [--trials 20] [--json]

Starts a real HTTP upstream (``ThreadingHTTPServer``, backlog 128, TCP_NODELAY, a 2 KB JSON answer), a real
toxiproxy-server (scripts/setup-toxiproxy.sh) and a real HTTP fault proxy (scripts/setup-httpfault.sh), and
measures ``GET /json`` with ``http.client``:

* pass-through: on an open keep-alive connection, and with a new connection per request, for: direct; through
  Toxiproxy (a TCP proxy); through a plain ``mitmdump`` reverse proxy (the engine without chaoskit's addon); through
  the HTTP fault proxy without rules, and with 5 rules that do not match (the matching cost). Interleaved request
  by request, in an order that rotates every round, so every path sees the same machine noise; p50 and p99, and
  the overhead over direct.
* accuracy of a 50 ms ``httpfault.delay`` (before the request goes upstream), through chaoskit's own fault plugin
  (plan/inject/revert): each delayed request minus its undelayed twin (the request just before it on the same
  connection, on a path the rule does not match); whether the first request after ``inject`` returns is delayed
  (the rule's own ``applied`` counter says so: timing alone is not reliable on a loaded machine), and the time of
  the ``revert`` call (the rule is gone when it returns).
Bounded: a fixed number of samples and trials; every request has a timeout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from _common import pct, serve, summary
from chaoskit_httpfault import HttpFaultClient, HttpFaultSection, HttpFaultServer, find_engine_python
from chaoskit_httpfault.faults import AbortFault, DelayFault
from chaoskit_toxiproxy import ToxiproxyServer

from chaoskit.plugin import Context
from chaoskit.ports import free_port, wait_listening

BODY = json.dumps({"items": [{"id": i, "name": f"item-{i}"} for i in range(80)]}).encode()
DELAY_MS = 50


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


def get_ms(conn: http.client.HTTPConnection, path: str = "/json") -> float:
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    data = response.read()
    took = (time.perf_counter() - start) * 1000
    if response.status != 200 or len(data) != len(BODY):
        raise RuntimeError(f"unexpected answer: {response.status}, {len(data)} bytes")
    return took


def new_connection_ms(port: int) -> float:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        get_ms(conn)
    finally:
        conn.close()
    return (time.perf_counter() - start) * 1000


def passthrough(ports: dict[str, int], samples: int) -> dict[str, Any]:
    conns = {name: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for name, port in ports.items()}
    kept: dict[str, list[float]] = {name: [] for name in ports}
    fresh: dict[str, list[float]] = {name: [] for name in ports}
    try:
        for _ in range(30):  # warm-up
            for conn in conns.values():
                get_ms(conn)
        names = list(ports)
        for i in range(samples):  # the order rotates every round: no path is always first (or last)
            for name in names[i % len(names) :] + names[: i % len(names)]:
                kept[name].append(get_ms(conns[name]))
        for i in range(max(50, samples // 5)):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                fresh[name].append(new_connection_ms(ports[name]))
    finally:
        for conn in conns.values():
            conn.close()
    out: dict[str, Any] = {}
    for mode, values in (("keep_alive", kept), ("new_connection", fresh)):
        direct = values["direct"]
        out[mode] = {
            name: {
                **summary(v),
                "overhead_p50": round(pct(v, 50) - pct(direct, 50), 3),
                "overhead_p99": round(pct(v, 99) - pct(direct, 99), 3),
            }
            for name, v in values.items()
        }
    return out


def delay_accuracy(ctx: Context, port: int, samples: int, trials: int) -> dict[str, Any]:
    """The rule delays /json only: /json (delayed) and /plain (not matched) alternate on one connection, so
    each delayed request has an undelayed twin that saw the same machine noise; added = delayed - twin."""
    fault = DelayFault()
    params = fault.Params.model_validate({"proxy": "bench", "delay_ms": DELAY_MS, "match": {"path": "/json"}})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        info = fault.plan(params, ctx)
        fault.inject(params, info, ctx)
        delayed: list[float] = []
        twins: list[float] = []
        for _ in range(max(50, samples // 5)):
            twins.append(get_ms(conn, "/plain"))
            delayed.append(get_ms(conn, "/json"))
        fault.revert(info, ctx)
        effective = 0
        revert_call: list[float] = []
        client = HttpFaultClient(str(info["url"]))
        for _ in range(trials):
            info = fault.plan(params, ctx)
            fault.inject(params, info, ctx)
            get_ms(conn)  # the first request after inject returned: did the rule apply to it?
            rule = client.rule(str(info["rule"]))
            effective += bool(rule and rule["hits"]["applied"] == 1)
            t2 = time.perf_counter()
            fault.revert(info, ctx)
            revert_call.append((time.perf_counter() - t2) * 1000)
    finally:
        conn.close()
    added = [d - t for d, t in zip(delayed, twins, strict=True)]
    return {
        "asked_ms": DELAY_MS,
        "undelayed_twin": summary(twins),
        "delayed": summary(delayed),
        "added": summary(added),
        "error_p50_ms": round(pct(added, 50) - DELAY_MS, 3),
        "first_request_after_inject_delayed": effective,
        "trials": trials,
        "revert_call_ms": summary(revert_call),
    }


def plain_mitmdump(upstream: int) -> tuple[subprocess.Popen[bytes], int]:
    """mitmdump in reverse mode without chaoskit's addon: what the engine costs by itself."""
    python = find_engine_python()
    command = [str(Path(python).with_name("mitmdump")), "--quiet", "--mode", f"reverse:http://127.0.0.1:{upstream}@0"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, wait_listening(proc, "mitmdump", 60)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    upstream = serve(Handler)
    direct = int(upstream.server_address[1])
    plain, plain_port = plain_mitmdump(direct)
    try:
        with ToxiproxyServer() as toxi, HttpFaultServer() as hf:
            toxi_port = free_port()
            toxi.client().create_proxy("bench", f"127.0.0.1:{toxi_port}", f"127.0.0.1:{direct}")
            client = hf.client()
            bare = client.create_proxy("bench", "127.0.0.1:0", f"http://127.0.0.1:{direct}")
            ruled = client.create_proxy("ruled", "127.0.0.1:0", f"http://127.0.0.1:{direct}")
            ctx = Context(run_id="bench", sections={"httpfault": HttpFaultSection(url=hf.url)})
            for i in range(5):  # rules that look at every request and match none
                params = AbortFault.Params.model_validate(
                    {"proxy": "ruled", "match": {"methods": ["POST"], "path": f"/nothing-{i}/*"}}
                )
                AbortFault().inject(params, AbortFault().plan(params, ctx), ctx)
            ports = {
                "direct": direct,
                "toxiproxy": toxi_port,
                "mitmdump (no addon)": plain_port,
                "httpfault (no rules)": int(bare["listen"].rsplit(":", 1)[1]),
                "httpfault (5 rules, no match)": int(ruled["listen"].rsplit(":", 1)[1]),
            }
            result = {
                "engine": client.version(),
                "toxiproxy": toxi.client().version(),
                "passthrough": passthrough(ports, args.samples),
                "delay": delay_accuracy(ctx, ports["httpfault (no rules)"], args.samples, args.trials),
            }
    finally:
        plain.terminate()
        plain.wait(10)
        upstream.shutdown()
        upstream.server_close()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    engine = result["engine"]
    print(f"{engine['engine']} {engine['version']} (HTTP fault proxy), toxiproxy {result['toxiproxy']}; GET of 2 KB")
    for mode in ("keep_alive", "new_connection"):
        print(f"\n{mode.replace('_', ' ')} (ms){'p50':>28}{'p99':>10}{'+p50':>10}{'+p99':>10}")
        for name, s in result["passthrough"][mode].items():
            print(f"  {name:34}{s['p50']:>10.3f}{s['p99']:>10.3f}{s['overhead_p50']:>10.3f}{s['overhead_p99']:>10.3f}")
    d = result["delay"]
    print(f"\n{DELAY_MS} ms delay (delayed request minus its undelayed twin): added p50 {d['added']['p50']:.3f} ms "
          f"(error {d['error_p50_ms']:+.3f} ms), p99 {d['added']['p99']:.3f} ms")  # fmt: skip
    print(
        f"  first request after inject delayed in {d['first_request_after_inject_delayed']} of {d['trials']} "
        f"trials (the rule's own counter); revert call p50 {d['revert_call_ms']['p50']:.3f} ms"
    )


if __name__ == "__main__":
    main()
