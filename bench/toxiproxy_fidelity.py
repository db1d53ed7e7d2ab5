"""Toxiproxy fault fidelity and speed, side by side with a direct connection, in one run.

    .venv/bin/python bench/toxiproxy_fidelity.py [--samples 2000] [--trials 30] [--json]

Starts a real toxiproxy-server (scripts/setup-toxiproxy.sh installs it) and a TCP echo upstream on
loopback, then measures, through chaoskit's own fault plugin (plan/inject/revert):

* pass-through overhead: round trips of 64 bytes on an open connection, and connect + one round trip,
  direct vs through the proxy (interleaved, so both see the same machine noise);
* accuracy of a 50 ms latency fault: p50 of the round trip minus the direct p50 (target: within 2 ms);
* time from ``inject`` returning to the fault being effective (first delayed round trip), and the time
  to revert (the ``revert`` call plus the time until round trips are fast again) -- targets < 20 ms.
Bounded: a fixed number of samples and trials; every socket has a timeout.
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import threading
import time
from typing import Any

from _common import pct, summary
from chaoskit_toxiproxy import ToxiproxySection, ToxiproxyServer
from chaoskit_toxiproxy.faults import LatencyFault

from chaoskit.plugin import Context
from chaoskit.ports import free_port

PAYLOAD = b"x" * 64
LATENCY_MS = 50


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(65536):
            conn.sendall(data)


class EchoServer(socketserver.ThreadingTCPServer):
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def rtt_ms(sock: socket.socket) -> float:
    start = time.perf_counter()
    sock.sendall(PAYLOAD)
    got = 0
    while got < len(PAYLOAD):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        got += len(chunk)
    return (time.perf_counter() - start) * 1000


def connect_rtt_ms(port: int) -> float:
    start = time.perf_counter()
    with connect(port) as sock:
        rtt_ms(sock)
    return (time.perf_counter() - start) * 1000


def passthrough(direct: int, proxied: int, samples: int) -> dict[str, Any]:
    d_rtt: list[float] = []
    p_rtt: list[float] = []
    with connect(direct) as ds, connect(proxied) as ps:
        for _ in range(20):  # warm-up
            rtt_ms(ds), rtt_ms(ps)
        for _ in range(samples):
            d_rtt.append(rtt_ms(ds))
            p_rtt.append(rtt_ms(ps))
    d_conn: list[float] = []
    p_conn: list[float] = []
    for _ in range(max(50, samples // 10)):
        d_conn.append(connect_rtt_ms(direct))
        p_conn.append(connect_rtt_ms(proxied))
    return {
        "rtt_direct_ms": summary(d_rtt),
        "rtt_proxy_ms": summary(p_rtt),
        "rtt_overhead_ms": {
            "p50": round(pct(p_rtt, 50) - pct(d_rtt, 50), 3),
            "p99": round(pct(p_rtt, 99) - pct(d_rtt, 99), 3),
        },
        "connect_direct_ms": summary(d_conn),
        "connect_proxy_ms": summary(p_conn),
        "connect_overhead_ms": {
            "p50": round(pct(p_conn, 50) - pct(d_conn, 50), 3),
            "p99": round(pct(p_conn, 99) - pct(d_conn, 99), 3),
        },
    }


def latency_fault(ctx: Context, direct: int, proxied: int, samples: int, trials: int) -> dict[str, Any]:
    fault = LatencyFault()
    params = fault.Params.model_validate({"proxy": "bench", "latency_ms": LATENCY_MS})
    with connect(direct) as ds:
        base = pct([rtt_ms(ds) for _ in range(200)], 50)
    info = fault.plan(params, ctx)
    fault.inject(params, info, ctx)
    with connect(proxied) as ps:
        faulted = [rtt_ms(ps) for _ in range(max(50, samples // 20))]
    fault.revert(info, ctx)
    p50 = pct(faulted, 50)

    inject_call: list[float] = []
    to_effective: list[float] = []
    revert_call: list[float] = []
    to_gone: list[float] = []
    threshold = LATENCY_MS * 0.8
    with connect(proxied) as ps:
        for _ in range(trials):
            info = fault.plan(params, ctx)
            t0 = time.perf_counter()
            fault.inject(params, info, ctx)
            t1 = time.perf_counter()
            inject_call.append((t1 - t0) * 1000)
            while True:  # first round trip sent after inject returned that shows the latency
                sent = time.perf_counter()
                if rtt_ms(ps) >= threshold:
                    to_effective.append((sent - t1) * 1000)
                    break
                if sent - t1 > 5:
                    raise RuntimeError("the latency fault never became effective")
            t2 = time.perf_counter()
            fault.revert(info, ctx)
            t3 = time.perf_counter()
            revert_call.append((t3 - t2) * 1000)
            while True:  # first round trip after revert returned that is fast again
                sent = time.perf_counter()
                if rtt_ms(ps) < threshold:
                    to_gone.append((sent - t3) * 1000)
                    break
                if sent - t3 > 5:
                    raise RuntimeError("the latency fault was still effective 5 s after revert")
    total_revert = [a + b for a, b in zip(revert_call, to_gone, strict=True)]
    return {
        "asked_ms": LATENCY_MS,
        "direct_p50_ms": round(base, 3),
        "faulted": summary(faulted),
        "added_p50_ms": round(p50 - base, 3),
        "error_p50_ms": round(p50 - base - LATENCY_MS, 3),
        "inject_call_ms": summary(inject_call),
        "inject_to_effective_ms": summary(to_effective),
        "revert_call_ms": summary(revert_call),
        "revert_to_gone_ms": summary(to_gone),
        "revert_total_ms": summary(total_revert),
        "revert_total_max_ms": round(max(total_revert), 3),
        "inject_to_effective_max_ms": round(max(to_effective), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    echo = EchoServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    direct = int(echo.server_address[1])
    with ToxiproxyServer() as server:
        client = server.client()
        proxied = free_port()
        client.create_proxy("bench", f"127.0.0.1:{proxied}", f"127.0.0.1:{direct}")
        ctx = Context(run_id="bench", sections={"toxiproxy": ToxiproxySection(url=server.url)})
        result = {
            "toxiproxy": client.version(),
            "passthrough": passthrough(direct, proxied, args.samples),
            "latency_fault": latency_fault(ctx, direct, proxied, args.samples, args.trials),
        }
    echo.shutdown()
    echo.server_close()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    pt, lf = result["passthrough"], result["latency_fault"]
    print(f"toxiproxy-server {result['toxiproxy']}, loopback, 64-byte echo round trips")
    print(f"{'(ms)':34}{'direct p50 / p99':>20}{'proxy p50 / p99':>20}{'overhead p50 / p99':>22}")
    for key, label in (("rtt", "round trip (open connection)"), ("connect", "connect + round trip")):
        d, p, o = pt[f"{key}_direct_ms"], pt[f"{key}_proxy_ms"], pt[f"{key}_overhead_ms"]
        cells = "".join(f"{s_['p50']:.3f} / {s_['p99']:.3f}".rjust(w) for s_, w in ((d, 20), (p, 20), (o, 22)))
        print(f"{label:34}{cells}")
    ok = "ok" if abs(lf["error_p50_ms"]) <= 2 else "MISSED"
    print(
        f"latency fault {LATENCY_MS} ms: added p50 {lf['added_p50_ms']:.3f} ms "
        f"(error {lf['error_p50_ms']:+.3f} ms, target within 2 ms: {ok})"
    )
    for key, label in (
        ("inject_call_ms", "inject call"),
        ("inject_to_effective_ms", "inject returned -> effective"),
        ("revert_call_ms", "revert call"),
        ("revert_to_gone_ms", "revert returned -> gone"),
        ("revert_total_ms", "time to revert (call + gone)"),
    ):
        s = lf[key]
        print(f"{label:34}p50 {s['p50']:>7.3f} ms   p99 {s['p99']:>7.3f} ms   (n={s['n']})")
    worst = max(lf["inject_to_effective_max_ms"], lf["revert_total_max_ms"])
    print(f"worst of effective/revert: {worst:.3f} ms (target < 20 ms: {'ok' if worst < 20 else 'MISSED'})")


if __name__ == "__main__":
    main()
