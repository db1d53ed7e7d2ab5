"""End to end: the real `chaoskit` CLI in a subprocess against the real control plane. A pod kill recovers
with a recorded TTR; SIGTERM mid-fault leaves no scale change, cordon or policy behind; SIGKILL leaves them,
and `chaoskit rollback` in a fresh process restores everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CHAOSKIT, ROOT
from tests.e2e import journal_of, ledgers
from tests.kubernetes.conftest import deployment, ready_pods, wait_for

Cli = Callable[..., subprocess.CompletedProcess[str]]
EXPERIMENTS = ROOT / "experiments"


def test_pod_kill_experiment_passes_and_records_the_time_to_recovery(
    cli: Cli, kubeconfig: Path, apps: Any, core: Any, namespace: str, tmp_path: Path, isolated_state: Path
) -> None:
    before = deployment(apps, core, namespace, replicas=3)
    result = cli(
        "run", str(EXPERIMENTS / "pod-kill.yaml"), "--out", str(tmp_path / "chaoskit-runs"),
        "--var", f"kubeconfig={kubeconfig}", "--var", f"namespace={namespace}", "--var", "replicas=3",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    journal = journal_of(tmp_path)
    assert journal["outcome"] == "passed", journal["reason"]
    assert journal["ttr_s"] is not None and journal["ttr_s"] >= 0
    killed = journal["faults"][0]["revert_info"]["killed"]
    assert len(killed) == 1 and killed[0] in before
    assert "token" not in json.dumps(journal["faults"])
    recovery = [o for o in journal["observations"] if o["phase"] == "recovery"]
    assert recovery and all(o["ok"] for o in recovery[-2:])
    waited = max(o["details"].get("waited_s", 0) for o in recovery)
    assert journal["ttr_s"] >= waited, "the TTR counts the time the probe watched for the recovery"
    after = ready_pods(core, namespace, "app=web", 3)
    assert after and killed[0] not in after, "a replacement pod is Ready"
    assert ledgers(isolated_state) == []


def test_node_drain_experiment_moves_the_pods_and_uncordons(
    cli: Cli, kubeconfig: Path, apps: Any, core: Any, namespace: str, tmp_path: Path
) -> None:
    deployment(apps, core, namespace, replicas=2)
    result = cli(
        "run", str(EXPERIMENTS / "node-drain.yaml"), "--out", str(tmp_path / "chaoskit-runs"),
        "--var", f"kubeconfig={kubeconfig}", "--var", f"namespace={namespace}", "--var", "seed=4",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    journal = journal_of(tmp_path)
    assert journal["outcome"] == "passed", journal["reason"]
    fault = journal["faults"][0]
    assert fault["revert_info"]["evicted"] or not fault["revert_info"]["pods"]
    assert fault["reverted_at"] is not None
    assert not any(n.spec.unschedulable for n in core.list_node().items)


def test_dry_run_prints_the_resolved_targets_and_touches_nothing(
    cli: Cli, kubeconfig: Path, apps: Any, core: Any, namespace: str, tmp_path: Path
) -> None:
    before = deployment(apps, core, namespace, replicas=2)
    result = cli(
        "run", str(EXPERIMENTS / "pod-kill.yaml"), "--dry-run", "--out", str(tmp_path / "chaoskit-runs"),
        "--var", f"kubeconfig={kubeconfig}", "--var", f"namespace={namespace}", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"delete 1 pod(s) in namespace {namespace}: " in result.stderr
    assert any(name in result.stderr for name in before)
    time.sleep(1)
    assert ready_pods(core, namespace, "app=web", 2) == before


def test_guard_refuses_a_namespace_outside_the_allowlist(
    cli: Cli, kubeconfig: Path, namespace: str, tmp_path: Path
) -> None:
    doc = yaml.safe_load((EXPERIMENTS / "pod-kill.yaml").read_text())
    doc["steady_state"] = {"strategy": "skip"}
    doc["kubernetes"]["namespaces"] = [namespace]
    doc["method"][0]["with"]["namespace"] = "kube-system"
    path = tmp_path / "outside.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = cli(
        "run", str(path), "--out", str(tmp_path / "runs2"), "--var", f"kubeconfig={kubeconfig}", cwd=tmp_path,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "namespace 'kube-system' is outside the allowed namespaces" in result.stderr
    assert "kube-system is only allowed when listed explicitly" in result.stderr


def disruptive(kubeconfig: Path, namespace: str, node: str) -> dict[str, Any]:
    return {
        "title": "kubernetes interrupted",
        "kubernetes": {"kubeconfig": str(kubeconfig), "namespaces": [namespace]},
        "method": [
            {"fault": "k8s.deployment_scale", "with": {"namespace": namespace, "name": "web", "replicas": 1},
             "background": True, "duration": "2m"},
            {"fault": "k8s.node_cordon", "with": {"names": [node]}, "background": True, "duration": "2m"},
            {"fault": "k8s.network_partition", "with": {"namespace": namespace, "selector": {"app": "web"}},
             "duration": "2m"},
        ],
        # No guardian: the SIGKILL test shows that `chaoskit rollback` alone restores everything (with a guardian,
        # it would revert first; tests/core/test_guardian.py covers that path).
        "safety": {"max_duration": "4m", "guardian": {"enabled": False}},
    }  # fmt: skip


class Cluster:
    def __init__(self, api: Any, apps: Any, core: Any, namespace: str, node: str) -> None:
        from kubernetes import client

        self.net = client.NetworkingV1Api(api)
        self.apps, self.core, self.ns, self.node = apps, core, namespace, node

    def replicas(self) -> int:
        return int(self.apps.read_namespaced_deployment_scale("web", self.ns).spec.replicas or 0)

    def cordoned(self) -> bool:
        return bool(self.core.read_node(self.node).spec.unschedulable)

    def policies(self) -> list[str]:
        return [p.metadata.name for p in self.net.list_namespaced_network_policy(self.ns).items]

    def all_injected(self) -> bool:
        return self.replicas() == 1 and self.cordoned() and len(self.policies()) == 1

    def as_before(self) -> None:
        assert self.replicas() == 3, "the scale-down is restored"
        assert not self.cordoned(), "the node is uncordoned"
        assert self.policies() == [], "the NetworkPolicy is deleted"


@pytest.fixture
def interrupted(
    kubeconfig: Path, api: Any, apps: Any, core: Any, namespace: str, tmp_path: Path
) -> tuple[Path, Cluster]:
    deployment(apps, core, namespace, replicas=3)
    node = sorted(n.metadata.name for n in core.list_node().items)[-1]
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(disruptive(kubeconfig, namespace, node), sort_keys=False))
    return path, Cluster(api, apps, core, namespace, node)


def start_run(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CHAOSKIT, "run", str(path), "--quiet"], cwd=path.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=os.environ.copy(),
    )  # fmt: skip


def wait_injected(proc: subprocess.Popen[str], cluster: Cluster) -> None:
    def ready() -> bool:
        assert proc.poll() is None, f"the run ended early: {proc.communicate()}"
        return cluster.all_injected()

    wait_for(ready, 120, "scale-down, cordon and policy in place")


def test_sigterm_mid_fault_leaves_no_scale_change_cordon_or_policy(
    interrupted: tuple[Path, Cluster], isolated_state: Path
) -> None:
    path, cluster = interrupted
    proc = start_run(path)
    wait_injected(proc, cluster)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert journal_of(path.parent)["outcome"] == "interrupted"
    cluster.as_before()
    assert ledgers(isolated_state) == []


def test_sigkill_then_rollback_restores_everything(
    cli: Cli, interrupted: tuple[Path, Cluster], isolated_state: Path
) -> None:
    path, cluster = interrupted
    proc = start_run(path)
    wait_injected(proc, cluster)
    proc.kill()
    proc.communicate(timeout=30)
    assert cluster.all_injected(), "a killed run leaves its faults..."
    assert len(ledgers(isolated_state)) == 1, "...and its ledger"
    first = cli("rollback", timeout=180)
    assert first.returncode == 0, first.stderr
    cluster.as_before()
    assert ledgers(isolated_state) == []
    second = cli("rollback", timeout=60)
    assert second.returncode == 0 and "nothing to roll back" in second.stderr
    cluster.as_before()
