"""Installing locust registers its pytest plugin (``pytest_locust``); chaoskit's suite runs without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.load.loadkit import LOCUSTFILE

ROOT = Path(__file__).resolve().parents[2]


def test_locust_pytest_plugin_is_not_loaded(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> None:
    assert pytestconfig.pluginmanager.get_plugin("locust") is None
    assert "pytest_locust.plugin" not in sys.modules
    assert pytestconfig.getoption("--host", default="absent") == "absent"
    with pytest.raises(pytest.FixtureLookupError):
        request.getfixturevalue("session")  # locust's fixture name stays free
    assert "locust" not in sys.modules and "gevent" not in sys.modules


SERVICE_TEST = """
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from locust_helpers import LOCUSTFILE


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


def test_it(pytestconfig, chaos):
    pm = pytestconfig.pluginmanager
    assert pm.get_plugin("locust") is not None and pm.get_plugin("chaoskit") is not None
    assert pytestconfig.getoption("--host") == "http://127.0.0.1:9"
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    result = chaos.run({
        "title": "side by side",
        "load": {"locustfile": "locustfile.py", "host": f"http://127.0.0.1:{server.server_address[1]}",
                 "users": 2, "spawn_rate": 20, "warmup": "1s"},
        "steady_state": {"probes": [{"probe": "load.error_rate", "with": {"last": "1s"}, "expect": {"max": 0}}]},
        "method": [{"pause": "1s"}],
    })
    server.shutdown()
    result.assert_passed()
    assert result.window("warmup").requests > 0 and result.window("method").error_rate == 0
"""


def test_both_plugins_work_side_by_side_elsewhere(tmp_path: Path) -> None:
    """In a service repo (no ``-p no:locust``) locust's plugin is active next to chaoskit's: their options
    do not clash, and a chaos test with Locust load runs and reads its windows. (Requesting locust's
    ``session`` fixture imports locust, which monkey-patches the test process: see the next test.)"""
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    (tmp_path / "locust_helpers.py").write_text(f"LOCUSTFILE = {LOCUSTFILE!r}\n")
    (tmp_path / "test_side_by_side.py").write_text(SERVICE_TEST)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--chaos", "-H", "http://127.0.0.1:9",
         str(tmp_path / "test_side_by_side.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def test_gevent_patched_process_is_refused(tmp_path: Path) -> None:
    """A runner process that something monkey-patched with gevent (e.g. pytest_locust's ``session``
    fixture imports locust) would hang: the load driver refuses it with a clear error instead."""
    code = (
        "import sys, locust\n"  # patches this process, as the `session` fixture does
        "from pathlib import Path\n"
        "from chaoskit.errors import PluginError\n"
        "from chaoskit.plugin import Context\n"
        "from chaoskit_locust.driver import LocustDriver\n"
        "from chaoskit_locust.params import LocustParams\n"
        f"params = LocustParams(locustfile='locustfile.py', host='http://127.0.0.1:9')\n"
        f"try:\n"
        f"    LocustDriver().start(params, Context(work_dir=Path({str(tmp_path)!r})))\n"
        "except PluginError as exc:\n"
        "    print(exc)\n"
    )
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert "monkey-patched by gevent" in out.stdout, out.stdout + out.stderr
