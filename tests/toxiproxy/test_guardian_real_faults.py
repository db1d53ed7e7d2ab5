"""SIGKILL a real `chaoskit run` that holds a real Toxiproxy toxic (on a proxy the run declared), a `host.pause`d
process and a `host.disk_fill` file: its guardian reverts all of them within 5 s, with no command typed."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

from chaoskit_toxiproxy import ToxiproxyClient

from chaoskit.ports import free_port
from tests.conftest import CHAOSKIT
from tests.host.host_helpers import Sleepers, proc_state
from tests.toxiproxy.toxinet import EchoServer

EXPERIMENT = """\
title: guardian reverts real faults
toxiproxy:
  url: "{url}"
  proxies: [{{name: "{proxy}", listen: "127.0.0.1:{listen}", upstream: "{upstream}"}}]
method:
  - fault: toxiproxy.latency
    with: {{proxy: "{proxy}", latency_ms: 400}}
  - fault: host.pause
    with: {{pid: {pid}}}
  - fault: host.disk_fill
    with: {{path: fill, size_mib: 2, min_free_mib: 0}}
  - pause: 60s
"""


def test_sigkill_guardian_reverts_toxic_pause_and_fill(
    tmp_path: Path, toxiproxy: ToxiproxyClient, echo: EchoServer
) -> None:
    link = tmp_path / f"chk{uuid.uuid4().hex[:8]}"
    link.symlink_to(shutil.which("sleep") or "/bin/sleep")
    sleepers = Sleepers(link.name, link)
    (pid,) = sleepers.start(1)
    (tmp_path / "fill").mkdir()
    proxy = f"guard{uuid.uuid4().hex[:6]}"
    (tmp_path / "exp.yaml").write_text(
        EXPERIMENT.format(url=toxiproxy.url, proxy=proxy, listen=free_port(), upstream=echo.address, pid=pid)
    )
    proc = subprocess.Popen(
        [CHAOSKIT, "run", "exp.yaml", "-q"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not list((tmp_path / "fill").glob("chaoskit-fill-*.bin")) or proc_state(pid) != "T":
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the faults were never all injected"
            time.sleep(0.02)
        time.sleep(0.2)  # the fill's inject has returned (its file is complete)
        assert [t.name for t in toxiproxy.toxics(proxy)]  # the latency toxic is in place
        proc.kill()
        proc.wait(timeout=10)
        killed = time.monotonic()
        while list((tmp_path / "fill").glob("*")) or proc_state(pid) == "T" or proxy in toxiproxy.proxies():
            assert time.monotonic() - killed < 5, "the guardian did not revert everything within 5 s"
            time.sleep(0.02)
        took = time.monotonic() - killed
        assert proc_state(pid) in ("S", "R")  # resumed, not killed
        assert proxy not in toxiproxy.proxies()  # the toxic went with it, and so did the declared proxy
        while not (found := list(tmp_path.glob("chaoskit-runs/*/guardian.json"))):  # written after its reverts
            assert time.monotonic() - killed < 15, "the guardian wrote no record"
            time.sleep(0.02)
        (record,) = found
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sleepers.stop()
    text = record.read_text()
    for name in ("toxiproxy.latency", "host.pause", "host.disk_fill", "toxiproxy.proxies"):
        assert name in text
    print(f"guardian revert latency after SIGKILL: {took:.2f}s")
