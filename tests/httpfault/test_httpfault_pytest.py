"""A service repo's chaos test with the `httpfault` fixture (loaded through the chaoskit.pytest_fixtures entry
point, only with --chaos): a real service, a real client with retries, the real HTTP fault proxy."""

from __future__ import annotations

from pathlib import Path

import pytest
from chaoskit_httpfault import find_engine_python

CONFTEST = """
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def payments():
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()
"""

TEST = """
import threading
import time

import requests
import urllib3


def experiment(url, percent):
    return {
        "title": "payments fails some calls",
        "steady_state": {"probes": [{"probe": "http", "with": {"url": url + "/health"}, "expect": {"status": 200}}]},
        "method": [
            {"fault": "httpfault.abort", "with": {"proxy": "payments", "percent": percent, "seed": 1,
                                                 "match": {"path": "/charge"}}, "duration": "2s", "background": True},
            {"pause": "1s"},
            {"probe": "httpfault.hits", "with": {"proxy": "payments"}, "expect": {"min": 1}},
        ],
    }


def test_a_client_with_retries_rides_out_503s(chaos, httpfault, payments):
    url = httpfault.proxy("payments", payments)
    retry = urllib3.Retry(total=8, status_forcelist=[503], backoff_factor=0)
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(max_retries=retry))
    seen = []
    stop = threading.Event()

    def calls():  # until the experiment is over (bounded: at most 2000 calls)
        for _ in range(2000):
            if stop.is_set():
                return
            seen.append(session.get(url + "/charge", timeout=5).status_code)
            time.sleep(0.02)

    t = threading.Thread(target=calls)
    t.start()
    try:
        result = chaos.run(experiment(url, 30))  # 9 attempts all hit: 0.3**9, about 2e-5 per call
    finally:
        stop.set()
        t.join(30)
    result.assert_passed()
    assert seen and set(seen) == {200}
    assert result.journal.faults[0].revert_info["hits"]["applied"] >= 1
"""


@pytest.fixture(scope="module")
def engine_python() -> Path:
    return find_engine_python()  # before pytester moves HOME (and with it the default cache)


def test_the_httpfault_fixture_in_a_service_repo(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, engine_python: Path
) -> None:
    monkeypatch.setenv("HTTPFAULT_PYTHON", str(engine_python))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_payments=TEST)
    result = pytester.runpytest_subprocess("--chaos", "-p", "no:locust", "-q")
    result.assert_outcomes(passed=1)
    assert not list(pytester.path.rglob("*.httpfault.json")), "no pending ledger"
    unmarked = pytester.runpytest_subprocess("-p", "no:locust", "-q")  # without --chaos: skipped, fixture unused
    unmarked.assert_outcomes(skipped=1)
