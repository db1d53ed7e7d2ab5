"""The demo shop on its own: real processes, real Toxiproxy, real signals. Its resilience mechanisms work, and
its documented weakness is real (what the game day is meant to find)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shop.launcher import BACKENDS, Shop, ShopInfo, find_toxiproxy


def _toxiproxy_or_skip() -> None:
    try:
        find_toxiproxy()
    except Exception as exc:
        pytest.skip(f"toxiproxy-server is not installed (scripts/setup-toxiproxy.sh): {exc}")


def call(url: str, body: Any = None, timeout: float = 10) -> tuple[int, Any, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method="POST" if data else "GET", headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, json.loads(raw), time.perf_counter() - start


def toxiproxy(info: ShopInfo, method: str, path: str, body: Any = None) -> None:
    assert info.toxiproxy_url
    req = urllib.request.Request(
        f"{info.toxiproxy_url}{path}",
        data=json.dumps(body).encode() if body else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(req, timeout=5).close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shop, ShopInfo]]:
    _toxiproxy_or_skip()
    s = Shop(tmp_path_factory.mktemp("shop"))
    info = s.start()
    yield s, info
    s.stop()


@pytest.fixture
def clean(shop: tuple[Shop, ShopInfo]) -> Iterator[ShopInfo]:
    """Every proxy enabled and without toxics after each test."""
    info = shop[1]
    yield info
    for name in BACKENDS:
        toxiproxy(info, "POST", f"/proxies/{name}", {"enabled": True})
        with urllib.request.urlopen(f"{info.toxiproxy_url}/proxies/{name}/toxics", timeout=5) as r:
            for toxic in json.loads(r.read()):
                toxiproxy(info, "DELETE", f"/proxies/{name}/toxics/{toxic['name']}")


def test_browse_and_checkout_cross_the_proxies(clean: ShopInfo) -> None:
    status, body, _ = call(f"{clean.storefront_url}/products")
    assert status == 200 and body["source"] in ("inventory-1", "inventory-2") and len(body["products"]) == 4
    status, body, _ = call(f"{clean.storefront_url}/checkout", {"sku": "kettle", "qty": 2})
    assert status == 200 and body["charge"]["amount_cents"] == 2 * 5900
    for name in BACKENDS:
        assert clean.backends[name] != f"http://{clean.upstreams[name]}"  # the storefront goes through the proxy


def test_a_slow_replica_is_masked_by_timeout_and_retry(clean: ShopInfo) -> None:
    toxiproxy(
        clean,
        "POST",
        "/proxies/inventory-1/toxics",
        {"name": "slow", "type": "latency", "stream": "downstream", "attributes": {"latency": 1000}},
    )
    results = [call(f"{clean.storefront_url}/products") for _ in range(6)]
    assert all(status == 200 for status, _, _ in results)
    assert {body["source"] for _, body, _ in results} == {"inventory-2"}  # replica 1 always timed out
    assert max(took for _, _, took in results) < 0.9  # 250 ms timeout + backoff, never the full 1 s


def test_a_partition_is_served_from_the_cache(clean: ShopInfo) -> None:
    call(f"{clean.storefront_url}/products")  # a fresh entry in the cache
    for name in ("inventory-1", "inventory-2"):
        toxiproxy(clean, "POST", f"/proxies/{name}", {"enabled": False})
    status, body, took = call(f"{clean.storefront_url}/products")
    assert (status, body["source"]) == (200, "cache") and took < 1.0
    status, body, _ = call(f"{clean.storefront_url}/checkout", {"sku": "filters", "qty": 1})
    assert status == 200 and body["stock_source"] == "cache"
    _, stats, _ = call(f"{clean.storefront_url}/stats")
    assert stats["cache_fallbacks"] >= 2 and stats["inventory_retries"] >= 4


def test_the_weakness_slow_payments_make_checkout_slow(clean: ShopInfo) -> None:
    toxiproxy(
        clean,
        "POST",
        "/proxies/payments/toxics",
        {"name": "slow", "type": "latency", "stream": "downstream", "attributes": {"latency": 1200}},
    )
    status, _, took = call(f"{clean.storefront_url}/checkout", {"sku": "filters", "qty": 1})
    assert status == 200 and took >= 1.2  # no timeout: checkout waits for payments, however long
    toxiproxy(clean, "POST", "/proxies/payments", {"enabled": False})
    status, body, _ = call(f"{clean.storefront_url}/checkout", {"sku": "filters", "qty": 1})
    assert status == 502 and "payment failed" in body["error"]  # and no fallback


def test_http_errors_from_payments_fail_checkouts(clean: ShopInfo) -> None:
    """The HTTP fault proxy in front of payments: a 503 for every charge fails every checkout (no retry)."""
    assert clean.httpfault_url and clean.httpfault["payments"] != clean.backends["payments"]
    rule = {"id": "shop-test", "proxy": "payments", "match": {"methods": ["POST"], "path": "/charge"},
            "action": {"type": "abort", "status": 503}}  # fmt: skip
    call(f"{clean.httpfault_url}/rules", rule)
    try:
        status, body, _ = call(f"{clean.storefront_url}/checkout", {"sku": "filters", "qty": 1})
        assert status == 502 and "HTTP 503" in body["error"]
        status, _, _ = call(f"{clean.storefront_url}/products")
        assert status == 200  # browsing does not touch payments
    finally:
        request = urllib.request.Request(f"{clean.httpfault_url}/rules/shop-test", method="DELETE")
        urllib.request.urlopen(request, timeout=5).close()
    status, _, _ = call(f"{clean.storefront_url}/checkout", {"sku": "filters", "qty": 1})
    assert status == 200


def test_the_supervisor_restarts_a_killed_replica(clean: ShopInfo) -> None:
    pidfile = Path(clean.pidfiles["inventory-1"])
    old = int(pidfile.read_text())
    os.kill(old, signal.SIGKILL)
    end = time.monotonic() + 30
    new = old
    while time.monotonic() < end:
        try:
            new = int(pidfile.read_text())
            if new != old and call(f"http://{clean.upstreams['inventory-1']}/health", timeout=2)[0] == 200:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    assert new != old, "the supervisor did not restart the replica"
    status = json.loads(Path(clean.statusfiles["inventory-1"]).read_text())
    assert status["restarts"] >= 1 and status["pid"] == new


def test_trace_context_propagates_through_every_service(clean: ShopInfo) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    req = urllib.request.Request(
        f"{clean.storefront_url}/checkout",
        data=b'{"sku": "espresso", "qty": 1}',
        method="POST",
        headers={"Content-Type": "application/json", "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    urllib.request.urlopen(req, timeout=10).close()
    spans_dir = Path(clean.spans_dir)
    seen: dict[str, list[dict[str, Any]]] = {}
    end = time.monotonic() + 20  # the span processors flush every second
    while time.monotonic() < end and len(seen) < 3:
        seen = {}
        for file in spans_dir.glob("*.jsonl"):
            for line in file.read_text().splitlines():
                span = json.loads(line)
                if span["context"]["trace_id"] == f"0x{trace_id}":
                    seen.setdefault(span["resource"]["attributes"]["service.name"], []).append(span)
        time.sleep(0.2)
    assert set(seen) == {"storefront", "inventory", "payments"}
    root = next(s for s in seen["storefront"] if s["kind"] == "SpanKind.SERVER")
    assert root["parent_id"] == "0x00f067aa0ba902b7"  # continues the caller's span


def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    _toxiproxy_or_skip()
    s = Shop(tmp_path)
    s.start()
    pids = [p.pid for _, p in s.procs] + [int(Path(f).read_text()) for f in s.info.pidfiles.values()]  # type: ignore[union-attr]
    s.stop()
    time.sleep(0.5)
    assert [pid for pid in pids if _alive(pid)] == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `python -m shop &` from a script inherits


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_the_launcher_leaves_no_orphans(tmp_path: Path, sig: signal.Signals) -> None:
    """Started with SIGINT ignored (as a script's background job is), the launcher still stops on Ctrl-C."""
    _toxiproxy_or_skip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "shop", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=_ignore_sigint,
    )
    try:
        assert proc.stdout is not None
        env = json.loads(_read_json_block(proc.stdout))
        assert env["SHOP_URL"].startswith("http://127.0.0.1:")
        info = json.loads((tmp_path / "shop.json").read_text())
        pids = [int(Path(f).read_text()) for f in info["pidfiles"].values()]
        children = _children(proc.pid)
        assert len(children) == 6  # toxiproxy, the HTTP fault proxy, three supervisors, the storefront
        proc.send_signal(sig)
        proc.wait(timeout=30)
        end = time.monotonic() + 15
        while time.monotonic() < end and any(_alive(p) for p in pids + children):
            time.sleep(0.1)
        assert [p for p in pids + children if _alive(p)] == []
    finally:
        if proc.poll() is None:
            proc.kill()


def _read_json_block(stream: Any) -> str:
    lines = []
    end = time.monotonic() + 60
    while time.monotonic() < end:
        line = stream.readline().decode()
        if not line:
            break
        lines.append(line)
        if line.startswith("}"):
            return "".join(lines)
    raise AssertionError(f"the launcher printed no environment: {''.join(lines)!r}")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out
