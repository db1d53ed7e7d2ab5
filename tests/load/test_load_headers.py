"""Load requests follow the run's trace context: during a fault window they carry the fault in their baggage."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from chaoskit_locust.headers import LiveHeaders, decode, encode

from chaoskit.model.journal import Journal, Outcome
from tests.load.loadkit import no_children_left, run_doc, write_locustfile

# Both client kinds; each request says when it was sent, so the test can place it against the fault window.
STAMPED = """
import time

from locust import HttpUser, constant, task
from locust.contrib.fasthttp import FastHttpUser


class Web(HttpUser):
    wait_time = constant(0.05)

    @task
    def health(self):
        self.client.get("/health", headers={"X-Sent-At": repr(time.time()), "X-Client": "requests"})


class Fast(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def health(self):
        self.client.get("/health", headers={"X-Sent-At": repr(time.time()), "X-Client": "fast"})
"""


def test_wire_lines_round_trip_and_reject_junk() -> None:
    headers = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "baggage": "chaoskit.fault=stop"}
    line = encode(headers)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line.rstrip(b"\n")) == headers
    assert decode(b"stop") is None and decode(b"headers {not json") is None and decode(b"headers [1]") is None


def test_live_headers_swap_only_what_they_set() -> None:
    class Session:
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

    live = LiveHeaders({"traceparent": "t1", "baggage": "b1"})
    plain, own = Session({"User-Agent": "x"}), Session({"baggage": "mine"})
    live.attach(plain, plain.headers)
    live.attach(own, own.headers)
    assert plain.headers == {"User-Agent": "x", "traceparent": "t1", "baggage": "b1"}
    assert own.headers == {"baggage": "mine", "traceparent": "t1"}  # the locustfile's value wins
    assert live.update({"traceparent": "t2", "baggage": "b2"}) == 2
    assert plain.headers == {"User-Agent": "x", "traceparent": "t2", "baggage": "b2"}
    assert own.headers == {"baggage": "mine", "traceparent": "t2"}
    live.update({"traceparent": "t3"})  # a key that goes away is removed
    assert plain.headers == {"User-Agent": "x", "traceparent": "t3"}
    del plain
    assert live.update({"traceparent": "t4"}) == 1  # dead sessions are forgotten


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _baggage(headers: dict[str, str]) -> dict[str, str]:
    items = (part.split(";")[0].strip() for part in (_header(headers, "baggage") or "").split(","))
    pairs = (item.split("=", 1) for item in items if "=" in item)
    return {urllib.parse.unquote(k): urllib.parse.unquote(v) for k, v in pairs}


def _run_with_fault(
    tmp_path: Path, service: Any, workers: int
) -> tuple[Journal, list[tuple[float, str, dict[str, str]]]]:
    write_locustfile(tmp_path, STAMPED)
    doc = {
        "title": "load headers follow the fault",
        "load": {
            "locustfile": "locustfile.py",
            "host": service.url,
            "users": 2,
            "spawn_rate": 20,
            "workers": workers,
            "warmup": "1s",
        },
        "method": [
            {"pause": "3s"},
            {"name": "marker", "fault": "testkit.marker", "with": {"path": "m.txt"}, "duration": "4s"},
            {"pause": "3s"},
        ],
    }
    journal = run_doc(doc, tmp_path)
    sent = []
    for headers in list(service.state.headers_seen):
        stamp = _header(headers, "x-sent-at")
        if stamp is not None:
            sent.append((float(stamp), _header(headers, "x-client") or "", headers))
    return journal, sorted(sent, key=lambda item: item[0])


def _check(journal: Journal, sent: list[tuple[float, str, dict[str, str]]]) -> dict[str, float]:
    assert journal.outcome == Outcome.PASSED, (journal.reason, journal.errors)
    (fault,) = journal.faults
    assert fault.injected_at is not None and fault.reverted_at is not None
    start, end = fault.injected_at, fault.reverted_at
    assert {client for _, client, _ in sent} == {"requests", "fast"}
    trace_ids = set()
    for _, _, headers in sent:  # every load request carries the run's context
        bag = _baggage(headers)
        assert bag.get("chaoskit.run_id") == journal.run_id, headers
        traceparent = _header(headers, "traceparent")
        assert traceparent is not None and len(traceparent.split("-")) == 4, headers
        trace_ids.add(traceparent.split("-")[1])
    assert len(trace_ids) == 1, trace_ids  # one trace: the run's
    with_fault = [(t, client) for t, client, h in sent if _baggage(h).get("chaoskit.fault") == "marker"]
    assert with_fault, "no load request carried the fault"
    before = [t for t, _, h in sent if t < start - 0.2]
    inside = [(t, c, h) for t, c, h in sent if start + 1.0 <= t <= end - 0.2]
    after = [(t, c, h) for t, c, h in sent if t > end + 1.0]
    assert len(before) > 10 and len(inside) > 10 and len(after) > 10, (len(before), len(inside), len(after))
    assert all(t >= start for t, _ in with_fault), "a request carried the fault before it was injected"
    assert all(t <= end + 1.0 for t, _ in with_fault), "a request carried the fault > 1 s after its revert"
    lacking = [(t - start, c) for t, c, h in inside if "chaoskit.fault" not in _baggage(h)]
    assert lacking == [], f"requests > 1 s into the fault window lacked the fault: {lacking[:5]}"
    assert {c for _, c in with_fault} == {"requests", "fast"}
    late = [t for t, _, h in sent if start <= t <= end and "chaoskit.fault" not in _baggage(h)]
    return {  # the latest request sent without the fault after the inject, and with it after the revert
        "on_switch_s": max(late, default=start) - start,
        "off_switch_s": max(t for t, _ in with_fault) - end,
        "requests": float(len(sent)),
        "with_fault": float(len(with_fault)),
    }


@pytest.mark.slow
def test_load_requests_carry_the_fault_during_its_window(tmp_path: Path, http_service: Any) -> None:
    journal, sent = _run_with_fault(tmp_path, http_service, workers=0)
    numbers = _check(journal, sent)
    assert journal.load is not None and journal.load.other["header_pushes"] >= 2  # type: ignore[operator], journal.load
    print(f"local: {numbers}")
    assert no_children_left(str(tmp_path)) == []


@pytest.mark.slow
def test_load_requests_carry_the_fault_in_workers_mode(tmp_path: Path, http_service: Any) -> None:
    journal, sent = _run_with_fault(tmp_path, http_service, workers=2)
    numbers = _check(journal, sent)
    print(f"workers: {numbers}")
    assert no_children_left(str(tmp_path)) == []
