"""The client and the probes against the real server: typed errors with the server's message."""

from __future__ import annotations

import socket

import pytest
from chaoskit_toxiproxy import (
    AddressInUse,
    AlreadyExists,
    ProxyNotFound,
    ServerUnavailable,
    ToxiproxyClient,
    ToxiproxyError,
)
from chaoskit_toxiproxy.faults import LatencyFault
from chaoskit_toxiproxy.probes import ProxyProbe, ToxicsProbe

from chaoskit.errors import PluginError
from chaoskit.ports import free_port
from tests.toxiproxy.toxinet import EchoServer, make_ctx


def test_version_and_proxies(toxiproxy: ToxiproxyClient, echo: EchoServer) -> None:
    assert toxiproxy.version() == "2.12.0"
    listen = f"127.0.0.1:{free_port()}"
    created = toxiproxy.create_proxy("svc", listen, echo.address)
    assert (created.name, created.listen, created.upstream, created.enabled) == ("svc", listen, echo.address, True)
    assert list(toxiproxy.proxies()) == ["svc"]
    toxic = toxiproxy.add_toxic("svc", "t1", "latency", "upstream", 0.5, {"latency": 7})
    assert (toxic.name, toxic.type, toxic.stream, toxic.toxicity) == ("t1", "latency", "upstream", 0.5)
    assert toxic.attributes["latency"] == 7
    assert [t.name for t in toxiproxy.toxics("svc")] == ["t1"]
    assert toxiproxy.delete_toxic("svc", "t1") is True
    assert toxiproxy.delete_toxic("svc", "t1") is False  # already gone
    assert toxiproxy.delete_proxy("svc") is True
    assert toxiproxy.delete_proxy("svc") is False


def test_server_not_running_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnavailable) as caught:
        ToxiproxyClient(url, timeout=2).proxies()
    message = str(caught.value)
    assert f"no Toxiproxy server at {url}" in message
    assert "toxiproxy-server" in message and "TOXIPROXY_URL" in message
    assert isinstance(caught.value, PluginError)


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(ServerUnavailable, match=r"no answer within 0\.5s"):
            ToxiproxyClient(url, timeout=0.5).version()


def test_unknown_proxy_names_the_existing_ones(toxiproxy: ToxiproxyClient, echo: EchoServer) -> None:
    toxiproxy.create_proxy("db", f"127.0.0.1:{free_port()}", echo.address)
    with pytest.raises(ProxyNotFound) as caught:
        toxiproxy.proxy("dbb")
    assert "has no proxy 'dbb' (existing proxies: db)" in str(caught.value)
    with pytest.raises(ProxyNotFound):
        toxiproxy.add_toxic("nope", "x", "latency")
    fault = LatencyFault()
    params = fault.Params.model_validate({"proxy": "dbb", "latency_ms": 10})
    with pytest.raises(ProxyNotFound, match="has no proxy 'dbb'"):
        fault.plan(params, make_ctx(toxiproxy.url))


def test_listen_port_in_use_is_a_clear_error(toxiproxy: ToxiproxyClient, echo: EchoServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(AddressInUse) as caught:
            toxiproxy.create_proxy("db", listen, echo.address)
    message = str(caught.value)
    assert f"its listen address {listen} is already in use" in message
    assert "address already in use" in caught.value.server_message
    assert caught.value.status == 500


def test_duplicates_and_bad_toxics_carry_the_server_message(toxiproxy: ToxiproxyClient, echo: EchoServer) -> None:
    toxiproxy.create_proxy("db", f"127.0.0.1:{free_port()}", echo.address)
    with pytest.raises(AlreadyExists, match="already has a proxy named 'db'"):
        toxiproxy.create_proxy("db", f"127.0.0.1:{free_port()}", echo.address)
    toxiproxy.add_toxic("db", "t", "latency")
    with pytest.raises(AlreadyExists, match="toxic already exists"):
        toxiproxy.add_toxic("db", "t", "latency")
    with pytest.raises(ToxiproxyError, match=r"invalid toxic type \(HTTP 400\)"):
        toxiproxy.add_toxic("db", "u", "no_such_toxic")


def test_probes(toxiproxy: ToxiproxyClient, echo: EchoServer) -> None:
    ctx = make_ctx(toxiproxy.url)
    params = ProxyProbe.Params.model_validate({"proxy": "db"})
    missing = ProxyProbe().observe(params, ctx)
    assert missing.value is False and missing.details["exists"] is False
    toxiproxy.create_proxy("db", f"127.0.0.1:{free_port()}", echo.address)
    toxiproxy.add_toxic("db", "slow", "latency", attributes={"latency": 5})
    seen = ProxyProbe().observe(params, ctx)
    assert seen.value is True and seen.details["exists"] is True and seen.details["upstream"] == echo.address
    assert [t["name"] for t in seen.details["toxics"]] == ["slow"]
    toxics = ToxicsProbe().observe(params, ctx)
    assert toxics.value == ["slow"] and toxics.details["count"] == 1
    assert toxics.details["toxics"][0]["attributes"]["latency"] == 5
    toxiproxy.set_enabled("db", False)
    assert ProxyProbe().observe(params, ctx).value is False
    with pytest.raises(ProxyNotFound):
        ToxicsProbe().observe(ToxicsProbe.Params.model_validate({"proxy": "other"}), ctx)
