"""A sample service repo, written into a pytester folder: a real HTTP service (started by a fixture),
experiment files and Python chaos tests. The service answers 503 while its flag file exists; the
``testkit.marker`` fault creates that file and its revert removes it."""

from __future__ import annotations

import pytest

CONFTEST = '''
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        down = self.server.flag.exists()
        body = b'{"status": "down"}' if down else b'{"status": "up"}'
        self.send_response(503 if down else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Service:
    """Answers 503 while its flag file exists. One per test: xdist workers never share one."""

    def __init__(self, flag):
        self.flag = flag
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.flag = flag
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def service(tmp_path):
    svc = Service(tmp_path / "down.flag")
    yield svc
    svc.server.shutdown()
    svc.server.server_close()


@pytest.fixture
def chaos_config(service):
    return {"api": service.url, "down_flag": str(service.flag)}
'''

YAML_HEAD = """\
configuration:
  api: {env: API_URL, default: "http://127.0.0.1:9"}
  down_flag: down.flag
steady_state:
  strategy: continuous
  frequency: 200ms
  probes:
    - name: api healthy
      probe: http
      with: {url: "${api}/health", timeout: 2s}
      expect: {status: 200}
recovery: {within: 5s, interval: 200ms}
safety: {max_duration: 1m}
"""

OK_YAML = (
    "title: survives an unrelated fault\n"
    + YAML_HEAD
    + """\
method:
  - name: unrelated
    fault: testkit.marker
    with: {path: unrelated.flag}
    duration: 600ms
"""
)

DOWN_YAML = (
    "title: survives an outage\n"
    + YAML_HEAD
    + """\
method:
  - name: outage
    fault: testkit.marker
    with: {path: "${down_flag}"}
    duration: 800ms
"""
)

INVALID_YAML = """\
title: broken
unknwon_key: 1
method:
  - fault: testkit.marker
    with: {path: x.flag}
    duration: soon
"""

TEST_CODE = """
import pytest

from chaoskit import Experiment, Step
from chaoskit.pytest_plugin import Chaos, NoLoadData, NoRecoveryMeasured


def experiment(url, flag):
    return {
        "title": "flag " + flag.rsplit("/", 1)[-1],
        "steady_state": {
            "strategy": "continuous",
            "frequency": "200ms",
            "probes": [{"name": "api healthy", "probe": "http", "with": {"url": url + "/health"},
                        "expect": {"status": 200}}],
        },
        "method": [{"name": "flag", "fault": "testkit.marker", "with": {"path": flag}, "duration": "600ms"}],
        "recovery": {"within": "5s", "interval": "200ms"},
    }


def test_unit():
    assert 1 + 1 == 2


def test_survives_unrelated_fault(chaos: Chaos, service):
    result = chaos.run(experiment(service.url, "unrelated.flag"))
    assert result.passed, result.report()
    assert result.outcome == "passed"
    assert result.recovered_within("5s")
    assert [f.name for f in result.faults] == ["flag"]
    assert result.faults[0].duration_s >= 0.5
    assert result.journal_path.is_file()
    with pytest.raises(NoLoadData, match="no load data"):
        result.window("fault")


def test_model_objects(chaos: Chaos):
    exp = Experiment(title="from models", method=[Step(fault="testkit.marker", with_={"path": "m.flag"}, duration=0.2)])
    first = chaos.run(exp)
    second = chaos.run(exp)
    assert first.passed and second.passed
    assert second.journal_path == chaos.runs_dir / "run-2" / "journal.json"
    with pytest.raises(NoRecoveryMeasured, match="measured no recovery"):
        first.recovered_within("1s")


def test_outage_is_reported(chaos: Chaos, service):
    result = chaos.run(experiment(service.url, str(service.flag)))
    result.assert_passed()


def test_invalid_in_code(chaos: Chaos):
    chaos.run({"title": "bad", "method": [{"fault": "testkit.marker", "with": {"path": 1, "colour": "red"}}]})


@pytest.mark.chaos
def test_marked_only():
    pass


@pytest.mark.chaos
def test_fixture_from_entry_point(testkit_marker):
    assert testkit_marker.name == "testkit.marker"
"""


def write_sample(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".chaos.yaml", ok=OK_YAML, down=DOWN_YAML, invalid=INVALID_YAML)
    pytester.makepyfile(test_code=TEST_CODE)
