"""A SIGKILLed run that used the Kubernetes client leaves no file behind: the kubeconfig's CA certificate (and a
client key, when there is one) live in memory files, not in the temp folder. Real API server, real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

CHILD = """
import os, signal, sys
from chaoskit_kubernetes.connection import Conn
conn = Conn(sys.argv[1], None, False, 10.0)
print(len(conn.call("list namespaces", conn.core().list_namespace).items), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

PLAIN_CLIENT = """
import os, signal, sys
from kubernetes import client, config
api = config.new_client_from_config(config_file=sys.argv[1])
print(len(client.CoreV1Api(api).list_namespace().items), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_run(code: str, kubeconfig: Path, tmp: Path) -> list[str]:
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(kubeconfig)], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == -signal.SIGKILL, out.stderr
    assert int(out.stdout.strip()) >= 1  # it really talked to the API server before it was killed
    return sorted(p.name for p in tmp.iterdir())


def test_a_killed_run_leaves_no_ca_file(kubeconfig: Path, tmp_path: Path) -> None:
    assert _killed_run(CHILD, kubeconfig, tmp_path / "chaoskit") == []


def test_the_plain_client_would_have_left_one(kubeconfig: Path, tmp_path: Path) -> None:
    """The control: the same kill with the client's own loader leaves the CA file in TMPDIR."""
    assert len(_killed_run(PLAIN_CLIENT, kubeconfig, tmp_path / "plain")) == 1
