"""chaosk8s calls in a CTK experiment run on chaoskit's kubernetes plugin against the real local control plane:
pod termination, deployment scaling and node cordoning inject through the ledger, the experiment's own
rollbacks (scale back, uncordon) revert those entries once, and the pod/deployment probes answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.kubernetes.conftest import deployment, wait_for


def call(label: str, module: str, func: str, kind: str = "action", **arguments: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "name": label,
        "provider": {"type": "python", "module": module, "func": func, "arguments": arguments},
    }


def test_chaosk8s_calls_inject_and_the_rollbacks_revert(
    kubeconfig: Path, core: Any, apps: Any, namespace: str, tmp_path: Path, isolated_state: Path
) -> None:
    deployment(apps, core, namespace, "web", replicas=2)
    node = sorted(n.metadata.name for n in core.list_node().items)[0]
    ns = namespace
    doc = {
        "version": "1.0.0",
        "title": "chaosk8s on chaoskit",
        "description": "kill a pod, scale down, cordon a node; the rollbacks undo it",
        "steady-state-hypothesis": {
            "title": "web is available",
            "probes": [
                call(
                    "available",
                    "chaosk8s.deployment.probes",
                    "deployment_available_and_healthy",
                    "probe",
                    name="web",
                    ns=ns,
                )
                | {"tolerance": True},
                call("running", "chaosk8s.pod.probes", "pods_in_phase", "probe", label_selector="app=web", ns=ns)
                | {"tolerance": True},
                call("two pods", "chaosk8s.pod.probes", "count_pods", "probe", label_selector="app=web", ns=ns)
                | {"tolerance": 2},
            ],
        },
        "method": [
            call("kill one", "chaosk8s.pod.actions", "terminate_pods", label_selector="app=web", ns=ns, qty=1),
            call("scale down", "chaosk8s.deployment.actions", "scale_deployment", name="web", replicas=0, ns=ns),
            call("cordon", "chaosk8s.node.actions", "cordon_node", name=node),
        ],
        "rollbacks": [
            call("scale back", "chaosk8s.deployment.actions", "scale_deployment", name="web", replicas=2, ns=ns),
            call("uncordon", "chaosk8s.node.actions", "uncordon_node", name=node),
        ],
        "runtime": {"hypothesis": {"strategy": "before-method-only"}},
    }
    path = tmp_path / "k8s.json"
    path.write_text(json.dumps(doc, indent=2))
    proc = run_cli(
        "run",
        str(path),
        "--journal-path",
        str(tmp_path / "ctk.json"),
        "--out",
        str(tmp_path / "runs"),
        env={"KUBECONFIG": str(kubeconfig)},
        timeout=180,
    )
    ctk = json.loads((tmp_path / "ctk.json").read_text())
    assert proc.returncode == 0, proc.stderr + json.dumps(ctk["run"], indent=1)[:3000]
    assert ctk["steady_states"]["before"]["steady_state_met"] is True
    assert [r["status"] for r in ctk["run"]] == ["succeeded"] * 3
    assert len(ctk["run"][0]["output"]) == 1  # one pod terminated
    assert [r["status"] for r in ctk["rollbacks"]] == ["succeeded"] * 2
    assert apps.read_namespaced_deployment(name="web", namespace=ns).spec.replicas == 2
    assert not core.read_node(node).spec.unschedulable
    (journal_path,) = (tmp_path / "runs").glob("*/journal.json")
    faults = json.loads(journal_path.read_text())["faults"]
    assert [f["plugin"] for f in faults] == ["k8s.pod_kill", "k8s.deployment_scale", "k8s.node_cordon"]
    assert all(f["reverted_at"] and not f["revert_error"] for f in faults)
    assert not list((isolated_state / "ledger").glob("*.json"))
    wait_for(lambda: len(core.list_namespaced_pod(ns, label_selector="app=web").items) >= 2, 60, "web back to 2 pods")
