"""Each fault measured for real through a real Toxiproxy proxy to a real TCP upstream, then reverted."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from chaoskit_toxiproxy import ToxiproxyClient
from chaoskit_toxiproxy.faults import (
    BandwidthFault,
    DownFault,
    LatencyFault,
    LimitDataFault,
    ResetPeerFault,
    SlicerFault,
    SlowCloseFault,
    TimeoutFault,
)

from chaoskit.plugin import Context, Fault
from chaoskit.ports import free_port
from tests.toxiproxy.toxinet import EchoServer, connect, echo_all, make_ctx, median_rtt_ms, time_to_close


@pytest.fixture
def proxy(toxiproxy: ToxiproxyClient, echo: EchoServer) -> int:
    """A proxy 'dep' in front of the echo upstream; returns its listen port."""
    port = free_port()
    toxiproxy.create_proxy("dep", f"127.0.0.1:{port}", echo.address)
    return port


def inject(fault: Fault[Any], params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """plan + inject, as the runner does; returns the revert info."""
    parsed = fault.Params.model_validate(params)
    info = fault.plan(parsed, ctx)
    fault.inject(parsed, info, ctx)
    return info


def assert_clean(client: ToxiproxyClient, port: int) -> None:
    """No toxic left, the proxy enabled, and data flows quickly again."""
    proxy = client.proxy("dep")
    assert proxy.toxics == ()
    assert proxy.enabled
    assert median_rtt_ms(port) < 50


def test_latency_adds_the_asked_delay_and_revert_removes_it(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url, run_id="lat")
    before = median_rtt_ms(proxy)
    info = inject(LatencyFault(), {"proxy": "dep", "latency_ms": 200}, ctx)
    assert [t["name"] for t in info["toxics"]] == ["chaoskit-lat-1-downstream"]
    assert [t.name for t in toxiproxy.proxy("dep").toxics] == ["chaoskit-lat-1-downstream"]
    during = median_rtt_ms(proxy)
    # compare the delayed RTT with the ask, not with a noisy baseline (a slow `before` made this flaky)
    assert during >= 195 and during - before < 600, (before, during)
    LatencyFault().revert(info, ctx)
    assert_clean(toxiproxy, proxy)


def test_latency_on_both_streams_adds_it_twice(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url, run_id="both")
    info = inject(LatencyFault(), {"proxy": "dep", "latency_ms": 100, "stream": "both"}, ctx)
    names = sorted(t.name for t in toxiproxy.proxy("dep").toxics)
    assert names == ["chaoskit-both-1-downstream", "chaoskit-both-1-upstream"]
    assert median_rtt_ms(proxy) >= 195
    LatencyFault().revert(info, ctx)
    assert_clean(toxiproxy, proxy)


def test_down_refuses_connections_and_revert_reenables(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    info = inject(DownFault(), {"proxy": "dep"}, ctx)
    assert info["was_enabled"] is True
    assert toxiproxy.proxy("dep").enabled is False
    with pytest.raises(ConnectionRefusedError):
        connect(proxy, timeout=2)
    DownFault().revert(info, ctx)
    DownFault().revert(info, ctx)  # idempotent
    assert_clean(toxiproxy, proxy)


def test_down_leaves_a_proxy_that_was_already_disabled(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    toxiproxy.set_enabled("dep", False)
    ctx = make_ctx(toxiproxy.url)
    info = inject(DownFault(), {"proxy": "dep"}, ctx)
    assert info["was_enabled"] is False
    DownFault().revert(info, ctx)
    assert toxiproxy.proxy("dep").enabled is False


def test_reset_peer_resets_the_connection(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    info = inject(ResetPeerFault(), {"proxy": "dep", "timeout_ms": 0}, ctx)
    with connect(proxy) as sock, pytest.raises(ConnectionResetError):
        sock.sendall(b"hello")
        for _ in range(10):  # the RST arrives as a reset on recv (or on a later send)
            if not sock.recv(1024):
                break
            sock.sendall(b"again")
        time.sleep(0.2)
        sock.sendall(b"after the reset")
        sock.recv(1024)
    ResetPeerFault().revert(info, ctx)
    assert_clean(toxiproxy, proxy)


def test_limit_data_cuts_after_n_bytes(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    info = inject(LimitDataFault(), {"proxy": "dep", "bytes": 1000}, ctx)
    data, _, _ = echo_all(proxy, 20_000)
    assert len(data) == 1000
    LimitDataFault().revert(info, ctx)
    data, _, _ = echo_all(proxy, 20_000)
    assert len(data) == 20_000
    assert_clean(toxiproxy, proxy)


def test_bandwidth_limits_throughput(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    size = 300_000
    _, fast, _ = echo_all(proxy, size)
    info = inject(BandwidthFault(), {"proxy": "dep", "rate_kbps": 200}, ctx)  # 200 KB/s: ~1.5 s for 300 KB
    data, slow, _ = echo_all(proxy, size)
    assert len(data) == size
    assert slow >= 1.2, slow  # bounded by the rate: 300 KB at 200 KB/s cannot take less than 1.5 s
    BandwidthFault().revert(info, ctx)
    _, after, _ = echo_all(proxy, size)
    assert after < slow, (fast, slow, after)
    assert_clean(toxiproxy, proxy)


def test_timeout_stalls_the_data(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    info = inject(TimeoutFault(), {"proxy": "dep", "timeout_ms": 0}, ctx)
    with connect(proxy, timeout=1.0) as sock:
        sock.sendall(b"anyone?")
        with pytest.raises(TimeoutError):
            sock.recv(1024)
    TimeoutFault().revert(info, ctx)
    assert_clean(toxiproxy, proxy)


def test_timeout_closes_after_timeout_ms(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    info = inject(TimeoutFault(), {"proxy": "dep", "timeout_ms": 300}, ctx)
    with connect(proxy, timeout=5.0) as sock:
        start = time.perf_counter()
        sock.sendall(b"anyone?")
        assert sock.recv(1024) == b""  # closed, no data
        assert time.perf_counter() - start >= 0.25
    TimeoutFault().revert(info, ctx)
    assert_clean(toxiproxy, proxy)


def test_slow_close_delays_the_close(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    quick = time_to_close(proxy)
    info = inject(SlowCloseFault(), {"proxy": "dep", "delay_ms": 500}, ctx)
    slow = time_to_close(proxy)
    assert slow >= 0.45 and slow > quick + 0.4, (quick, slow)
    SlowCloseFault().revert(info, ctx)
    assert_clean(toxiproxy, proxy)


def test_slicer_cuts_the_data_into_small_delayed_slices(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    params = {"proxy": "dep", "average_size_bytes": 100, "size_variation_bytes": 20, "delay_us": 20_000}
    info = inject(SlicerFault(), params, ctx)
    data, seconds, chunks = echo_all(proxy, 2000)
    assert len(data) == 2000
    assert max(chunks) <= 120 and len(chunks) >= 15, chunks
    assert seconds >= 0.25  # ~20 slices, 20 ms apart
    SlicerFault().revert(info, ctx)
    assert_clean(toxiproxy, proxy)


def test_toxicity_zero_affects_no_connection(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    info = inject(LatencyFault(), {"proxy": "dep", "latency_ms": 300, "toxicity": 0.0}, ctx)
    assert toxiproxy.proxy("dep").toxics[0].toxicity == 0.0
    assert median_rtt_ms(proxy) < 150
    LatencyFault().revert(info, ctx)


def test_revert_is_idempotent_and_works_from_info_alone(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    info = inject(LatencyFault(), {"proxy": "dep", "latency_ms": 50, "stream": "both"}, make_ctx(toxiproxy.url))
    fresh = Context(run_id="elsewhere")  # like `chaoskit rollback`: no sections, another process
    LatencyFault().revert(info, fresh)
    LatencyFault().revert(info, fresh)
    assert toxiproxy.proxy("dep").toxics == ()
    toxiproxy.delete_proxy("dep")
    LatencyFault().revert(info, fresh)  # the proxy itself is gone: still fine
    DownFault().revert({"url": toxiproxy.url, "proxy": "dep", "was_enabled": True}, fresh)


def test_revert_removes_only_its_own_toxics(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    toxiproxy.add_toxic("dep", "someone-elses", "latency", attributes={"latency": 1})
    ctx = make_ctx(toxiproxy.url, run_id="mine")
    info = inject(LatencyFault(), {"proxy": "dep", "latency_ms": 10}, ctx)
    second = inject(LatencyFault(), {"proxy": "dep", "latency_ms": 10}, ctx)
    assert info["toxics"][0]["name"] != second["toxics"][0]["name"]
    LatencyFault().revert(info, ctx)
    LatencyFault().revert(second, ctx)
    assert [t.name for t in toxiproxy.proxy("dep").toxics] == ["someone-elses"]


def test_plan_has_no_side_effects_and_describes(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url, run_id="plan")
    fault = LatencyFault()
    info = fault.plan(fault.Params.model_validate({"proxy": "dep", "latency_ms": 50, "jitter_ms": 5}), ctx)
    assert toxiproxy.proxy("dep").toxics == ()
    text = fault.describe(info)
    assert "latency (latency=50, jitter=5, toxicity=1) on proxy dep" in text
    assert "chaoskit-plan-1-downstream" in text and toxiproxy.url in text
    down = DownFault()
    assert "disable proxy dep" in down.describe(down.plan(down.Params.model_validate({"proxy": "dep"}), ctx))
    assert toxiproxy.proxy("dep").enabled


def test_a_connection_open_before_inject_is_affected_too(toxiproxy: ToxiproxyClient, proxy: int) -> None:
    ctx = make_ctx(toxiproxy.url)
    with connect(proxy) as sock:
        sock.sendall(b"x")
        assert sock.recv(10) == b"x"
        info = inject(LatencyFault(), {"proxy": "dep", "latency_ms": 200}, ctx)
        start = time.perf_counter()
        sock.sendall(b"y")
        assert sock.recv(10) == b"y"
        assert time.perf_counter() - start >= 0.19
        LatencyFault().revert(info, ctx)
        start = time.perf_counter()
        sock.sendall(b"z")
        assert sock.recv(10) == b"z"
        assert time.perf_counter() - start < 0.15


def test_socket_module_is_real() -> None:
    assert socket.create_connection  # guards against a monkeypatched socket module in this suite
