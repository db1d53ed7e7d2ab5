"""examples/kubernetes against the real control plane: the manifests pass a server-side dry run, and the
experiment from the ConfigMap runs with a real token of the example's least-privilege ServiceAccount
(in-cluster auth), and is refused with a clear 403 outside what the Role grants."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from tests.conftest import CHAOSKIT, ROOT
from tests.kubernetes.conftest import deployment

EXAMPLES = ROOT / "examples" / "kubernetes"
MANIFESTS = ["rbac.yaml", "configmap.yaml", "job.yaml", "cronjob.yaml"]


def documents(name: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d is not None]
    assert docs and all(isinstance(d, dict) and d.get("kind") and d.get("apiVersion") for d in docs)
    return docs


def create(api: Any, ns: str, doc: dict[str, Any], dry_run: str | None = None) -> Any:
    from kubernetes import client

    kind = doc["kind"]
    core, rbac, batch = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api), client.BatchV1Api(api)
    create_fn = {
        "ServiceAccount": core.create_namespaced_service_account,
        "ConfigMap": core.create_namespaced_config_map,
        "Role": rbac.create_namespaced_role,
        "RoleBinding": rbac.create_namespaced_role_binding,
        "Job": batch.create_namespaced_job,
        "CronJob": batch.create_namespaced_cron_job,
    }[kind]
    return create_fn(ns, doc, dry_run=dry_run, _request_timeout=30)


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifests_pass_a_server_side_dry_run(name: str, api: Any, namespace: str) -> None:
    for doc in documents(name):
        created = create(api, namespace, doc, dry_run="All")
        assert created.metadata.name == doc["metadata"]["name"]
        assert created.metadata.namespace == namespace


def test_the_job_mounts_the_configmap_and_uses_the_service_account() -> None:
    (job,) = documents("job.yaml")
    (cron,) = documents("cronjob.yaml")
    (cm,) = documents("configmap.yaml")
    for pod in (job["spec"]["template"]["spec"], cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]):
        assert pod["serviceAccountName"] == "chaoskit"
        assert pod["volumes"][0]["configMap"]["name"] == cm["metadata"]["name"]
        assert pod["containers"][0]["args"][:2] == ["run", "/experiment/experiment.yaml"]
    experiment = yaml.safe_load(cm["data"]["experiment.yaml"])
    assert experiment["kubernetes"]["in_cluster"] is True


def in_cluster_env(api: Any, kubeconfig: Path, namespace: str, folder: Path) -> dict[str, str]:
    """What a pod of the Job would have: the service account's token and CA, and KUBERNETES_SERVICE_*."""
    from kubernetes import client

    token = client.CoreV1Api(api).create_namespaced_service_account_token(
        "chaoskit", namespace, {"spec": {"expirationSeconds": 900}}
    )
    cfg = yaml.safe_load(kubeconfig.read_text())
    cluster = cfg["clusters"][0]["cluster"]
    sa = folder / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(token.status.token)
    (sa / "ca.crt").write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    url = urlparse(cluster["server"])
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(
        KUBERNETES_SERVICE_HOST=str(url.hostname),
        KUBERNETES_SERVICE_PORT=str(url.port),
        CHAOSKIT_K8S_SERVICE_ACCOUNT_DIR=str(sa),
        POD_NAMESPACE=namespace,
        HOME=str(folder),  # no ~/.kube/config to fall back on
    )
    return env


def test_the_configmap_experiment_runs_in_cluster_with_least_privilege(
    api: Any, apps: Any, core: Any, kubeconfig: Path, namespace: str, tmp_path: Path
) -> None:
    deployment(apps, core, namespace, replicas=2)
    for doc in documents("rbac.yaml"):
        create(api, namespace, doc)
    (cm,) = documents("configmap.yaml")
    exp = tmp_path / "experiment.yaml"
    exp.write_text(cm["data"]["experiment.yaml"])
    env = in_cluster_env(api, kubeconfig, namespace, tmp_path)

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CHAOSKIT, "run", str(path), "--out", str(tmp_path / "runs")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    ok = run(exp)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASSED" in ok.stderr
    token = (tmp_path / "serviceaccount" / "token").read_text()
    journals = list((tmp_path / "runs").glob("*/journal.json"))
    assert journals and token not in journals[0].read_text()

    doc = yaml.safe_load(exp.read_text())
    doc["steady_state"] = {"strategy": "skip"}
    doc["method"] = [{"fault": "k8s.node_cordon", "with": {"label_selector": "type=kwok"}}]
    wider = tmp_path / "wider.yaml"
    wider.write_text(yaml.safe_dump(doc))
    refused = run(wider)
    assert refused.returncode == 4, refused.stderr
    assert "403 Forbidden" in refused.stderr and "nodes is forbidden" in refused.stderr
    assert not any(n.spec.unschedulable for n in core.list_node().items)
