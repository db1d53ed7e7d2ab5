"""Record what real Chaos Toolkit decides for every case of cases.yaml, into expected/<case>.json.

The recorded fields are CTK's journal verdict (status, deviated), `chaos run`'s exit code, whether the
hypothesis before/after was met, and the name and status of every method and rollback activity. The tests
(test_ctk_parity.py) run the same cases with chaoskit and compare. Regenerate with::

    python tests/ctk/record_ctk.py --chaos /path/to/venv/bin/chaos [CASE ...]

How the fixtures in this repo were made: chaostoolkit 1.21.4 (chaostoolkit-lib 1.45.1) installed with pip into
a virtualenv of CPython 3.12.1 (pyenv's, on this machine: `python3.12 -m venv ctk && ctk/bin/pip install
'chaostoolkit==1.21.*' 'chaostoolkit-lib[jsonpath]'`; CTK 1.21 needs Python >= 3.12; jsonpath tolerances need
the jsonpath extra), plus chaostoolkit-toxiproxy 0.3.1 for the cases that need a real toxiproxy-server
(`needs: toxiproxy`; the server is chaoskit_toxiproxy's, on 127.0.0.1), and chaostoolkit-kubernetes 0.39.0 for the
ones that need the local control plane (`needs: kubernetes`; scripts/k8s_cluster.py, kwok nodes). Every run goes against
tests/ctk/service.py on 127.0.0.1, with the environment the tests use (CTKTEST_URL, CTKTEST_TOKEN, CTKTEST_PORT,
PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.ctk.service import Service  # noqa: E402

EXPERIMENTS = HERE / "experiments"
TOKEN = "s3cret-t0ken"


def cases() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text())
    return data


def environment(service_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTKTEST_")}
    env.update(
        CTKTEST_URL=service_url,
        CTKTEST_TOKEN=TOKEN,
        CTKTEST_PORT="8080",
        PYTHONPATH=str(EXPERIMENTS),
    )
    return env


def prepare_toxiproxy(client: Any, service_url: str) -> dict[str, str]:
    """A fresh proxy ``ctkdb`` in front of the service; the variables the toxi cases read."""
    for name in client.proxies():
        client.delete_proxy(name)
    proxy = client.create_proxy("ctkdb", "127.0.0.1:0", service_url.removeprefix("http://"))
    return {"TOXIPROXY_URL": client.url, "CTKTEST_PROXIED": f"http://{proxy.listen}"}


def left_behind(client: Any) -> dict[str, Any]:
    """What the run left on the proxy (CTK leaves what its rollbacks did not undo)."""
    proxy = client.proxy("ctkdb")
    return {"enabled": proxy.enabled, "toxics": sorted(t.name for t in proxy.toxics)}


def prepare_kubernetes(core: Any, apps: Any, namespace: str, kubeconfig: Path) -> dict[str, str]:
    """Deployment ``web`` (2 Ready pods) in ``namespace``, every node schedulable; the variables the k8s cases read."""
    from tests.kubernetes.conftest import deployment

    nodes = sorted(n.metadata.name for n in core.list_node().items)
    for node in nodes:
        core.patch_node(node, {"spec": {"unschedulable": False}})
    deployment(apps, core, namespace, "web", replicas=2)
    return {"KUBECONFIG": str(kubeconfig), "CTKTEST_NS": namespace, "CTKTEST_NODE": nodes[0]}


def k8s_left_behind(core: Any, apps: Any, namespace: str) -> dict[str, Any]:
    """What the run left: web's replicas and the cordoned nodes."""
    replicas = apps.read_namespaced_deployment(name="web", namespace=namespace).spec.replicas
    cordoned = sorted(n.metadata.name for n in core.list_node().items if n.spec.unschedulable)
    return {"replicas": replicas, "cordoned": len(cordoned)}


def summary(journal: dict[str, Any], exit_code: int) -> dict[str, Any]:
    """The fields both tools must agree on."""
    states = journal.get("steady_states") or {}

    def met(state: Any) -> bool | None:
        return None if not state else state.get("steady_state_met")

    def runs(items: list[dict[str, Any]] | None) -> list[list[str]]:
        return sorted([r["activity"].get("name", "?"), r["status"]] for r in items or [])

    before = states.get("before") or {}
    return {
        "status": journal["status"],
        "deviated": journal["deviated"],
        "exit_code": exit_code,
        "before_met": met(states.get("before")),
        "before_probes": [
            [p["activity"].get("name"), p["status"], p.get("tolerance_met")] for p in before.get("probes", [])
        ],
        "after_met": met(states.get("after")),
        "during_ran": bool(states.get("during")),
        "run": runs(journal.get("run")),
        "rollbacks": runs(journal.get("rollbacks")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chaos", required=True, help="the `chaos` executable of a Chaos Toolkit virtualenv")
    parser.add_argument("names", nargs="*", help="cases to record (default: all)")
    args = parser.parse_args()
    version = subprocess.run([args.chaos, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    service = Service()
    toxiproxy: Any = None
    cluster: Any = None
    k8s: dict[str, Any] = {}
    try:
        for name, case in cases().items():
            if args.names and name not in args.names:
                continue
            service.reset()
            env = environment(service.url)
            if case.get("needs") == "toxiproxy":
                if toxiproxy is None:
                    from chaoskit_toxiproxy import ToxiproxyServer

                    toxiproxy = ToxiproxyServer().start()
                env |= prepare_toxiproxy(toxiproxy.client(timeout=10), service.url)
            if case.get("needs") == "kubernetes":
                if cluster is None:
                    cluster, k8s = _start_cluster()
                namespace = f"ctk-{name}"[:40]
                k8s["core"].create_namespace({"metadata": {"name": namespace}}, _request_timeout=30)
                time.sleep(2)  # the namespace's default service account
                env |= prepare_kubernetes(k8s["core"], k8s["apps"], namespace, k8s["kubeconfig"])
            with tempfile.TemporaryDirectory() as tmp:
                journal_path = Path(tmp) / "journal.json"
                command = [args.chaos, "run", "--journal-path", str(journal_path), *case.get("flags", []), case["file"]]
                proc = subprocess.run(command, cwd=EXPERIMENTS, env=env, capture_output=True, text=True, timeout=120)
                journal = json.loads(journal_path.read_text()) if journal_path.exists() else None
            record: dict[str, Any] = {
                "recorded_with": f"{version}; chaostoolkit-lib {journal.get('chaoslib-version') if journal else '?'}",
                "command": ["chaos", "run", *case.get("flags", []), case["file"]],
            }
            if journal is None:  # refused before running (invalid): no journal
                record |= {"status": None, "exit_code": proc.returncode, "error": proc.stderr.strip().splitlines()[-1:]}
            else:
                record |= summary(journal, proc.returncode)
            if case.get("needs") == "toxiproxy":
                record["left_behind"] = left_behind(toxiproxy.client(timeout=10))
            if case.get("needs") == "kubernetes":
                record["left_behind"] = k8s_left_behind(k8s["core"], k8s["apps"], env["CTKTEST_NS"])
                k8s["core"].delete_namespace(env["CTKTEST_NS"], _request_timeout=30)
            (HERE / "expected" / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
            print(f"{name}: status={record['status']} deviated={record.get('deviated')} exit={proc.returncode}")
    finally:
        service.close()
        if toxiproxy is not None:
            toxiproxy.stop()
        if cluster is not None:
            cluster.__exit__(None, None, None)
    return 0


def _start_cluster() -> tuple[Any, dict[str, Any]]:
    sys.path.insert(0, str(HERE.parent.parent / "scripts"))
    from k8s_cluster import local_cluster
    from kubernetes import client, config

    cluster = local_cluster(Path(tempfile.mkdtemp(prefix="ctk-k8s-")), nodes=2)
    kubeconfig = cluster.__enter__()
    api = config.new_client_from_config(config_file=str(kubeconfig))
    return cluster, {"kubeconfig": kubeconfig, "core": client.CoreV1Api(api), "apps": client.AppsV1Api(api)}


if __name__ == "__main__":
    raise SystemExit(main())
