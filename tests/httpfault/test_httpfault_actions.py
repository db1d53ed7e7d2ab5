"""Each action, observed by a real client (requests) through the real proxy in front of a real server."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from chaoskit_httpfault import AddressInUse, HttpFaultClient
from chaoskit_httpfault.faults import (
    AbortFault,
    CorruptFault,
    DelayFault,
    RemoveHeaderFault,
    ResetFault,
    SetHeaderFault,
    TruncateFault,
)

from tests.httpfault.conftest import Inject
from tests.httpfault.upstream import JSON_BODY


def test_pass_through_without_rules(proxy: str) -> None:
    response = requests.get(f"{proxy}/json", timeout=10)
    assert response.status_code == 200 and response.content == JSON_BODY
    echo = requests.post(f"{proxy}/echo?x=1", data=b"abc", timeout=10).json()
    assert echo["method"] == "POST" and echo["path"] == "/echo?x=1" and echo["size"] == 3


def test_abort_answers_the_status_body_and_headers_without_the_upstream(
    proxy: str, inject: Inject, httpfault: HttpFaultClient
) -> None:
    info = inject(
        AbortFault(), status=503, body='{"error": "down"}', headers={"X-Fault": "yes"}, match={"path": "/json"}
    )
    response = requests.get(f"{proxy}/json", timeout=10)
    assert response.status_code == 503
    assert response.json() == {"error": "down"} and response.headers["X-Fault"] == "yes"
    assert requests.get(f"{proxy}/echo", timeout=10).status_code == 200  # another path passes
    rule = httpfault.rule(info["rule"])
    assert rule is not None and rule["hits"] == {"matched": 1, "applied": 1}


def test_delay_before_the_request_and_before_the_response(proxy: str, inject: Inject) -> None:
    def elapsed(path: str) -> float:
        start = time.perf_counter()
        assert requests.get(f"{proxy}{path}", timeout=10).status_code == 200
        return time.perf_counter() - start

    base = min(elapsed("/json") for _ in range(3))
    inject(DelayFault(), delay_ms=300, match={"path": "/json"})
    inject(DelayFault(), delay_ms=200, when="response", match={"path": "/echo"})
    assert 0.3 <= elapsed("/json") < 0.3 + base + 0.5
    assert 0.2 <= elapsed("/echo") < 0.2 + base + 0.5


def test_reset_before_the_response_closes_the_connection(proxy: str, inject: Inject) -> None:
    inject(ResetFault(), match={"path": "/json"})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{proxy}/json", timeout=10)
    assert requests.get(f"{proxy}/echo", timeout=10).status_code == 200


def test_reset_mid_response_cuts_the_body_short(proxy: str, inject: Inject) -> None:
    inject(ResetFault(), when="mid_response", after_bytes=100, match={"path": "/json"})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{proxy}/json", timeout=10)
    with requests.get(f"{proxy}/json", timeout=10, stream=True) as response:
        assert response.status_code == 200 and int(response.headers["Content-Length"]) == len(JSON_BODY)
        got = bytearray()
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in response.iter_content(4):
                got += chunk
        assert bytes(got) == JSON_BODY[:100]


def test_truncate_sends_a_well_formed_shorter_body(proxy: str, inject: Inject) -> None:
    inject(TruncateFault(), match={"path": "/json"})
    response = requests.get(f"{proxy}/json", timeout=10)
    assert response.status_code == 200
    assert response.content == JSON_BODY[: len(JSON_BODY) // 2]
    assert int(response.headers["Content-Length"]) == len(JSON_BODY) // 2
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_truncate_to_a_number_of_bytes(proxy: str, inject: Inject) -> None:
    inject(TruncateFault(), bytes=10, match={"path": "/json"})
    assert requests.get(f"{proxy}/json", timeout=10).content == JSON_BODY[:10]


def test_corrupt_changes_bytes_but_not_the_length(proxy: str, inject: Inject) -> None:
    inject(CorruptFault(), bytes=5, match={"path": "/json"})
    body = requests.get(f"{proxy}/json", timeout=10).content
    assert len(body) == len(JSON_BODY)
    assert sum(a != b for a, b in zip(body, JSON_BODY, strict=True)) == 5


def test_set_and_remove_headers_on_requests_and_responses(proxy: str, inject: Inject) -> None:
    inject(SetHeaderFault(), name="X-Injected", value="1", on="request", match={"path": "/echo"})
    inject(RemoveHeaderFault(), name="X-Drop", on="request", match={"path": "/echo"})
    inject(SetHeaderFault(), name="Cache-Control", value="no-store", match={"path": "/echo"})
    inject(RemoveHeaderFault(), name="Content-Type", match={"path": "/echo"})
    response = requests.get(f"{proxy}/echo", headers={"X-Drop": "me", "X-Keep": "me"}, timeout=10)
    seen = json.loads(response.content)["headers"]
    assert seen["X-Injected"] == "1" and "X-Drop" not in seen and seen["X-Keep"] == "me"
    assert response.headers["Cache-Control"] == "no-store" and "Content-Type" not in response.headers


def test_the_upstream_sees_its_own_host_unless_keep_host(httpfault: HttpFaultClient, upstream: str, proxy: str) -> None:
    seen = requests.get(f"{proxy}/echo", timeout=10).json()["headers"]
    assert seen["Host"] == upstream.removeprefix("http://")


def test_a_taken_listen_address_is_a_clear_error(httpfault: HttpFaultClient, upstream: str, proxy: str) -> None:
    taken = proxy.removeprefix("http://")
    with pytest.raises(AddressInUse, match=f"cannot listen on {taken}"):
        httpfault.create_proxy("again", taken, upstream)
    assert requests.get(f"{proxy}/json", timeout=10).status_code == 200  # the existing proxy is unharmed
    with socket.socket() as other:  # a port another process holds
        other.bind(("127.0.0.1", 0))
        other.listen()
        address = f"127.0.0.1:{other.getsockname()[1]}"
        with pytest.raises(AddressInUse, match="address already in use"):
            httpfault.create_proxy("other", address, upstream)
    assert set(httpfault.proxies()) == {"svc"}
