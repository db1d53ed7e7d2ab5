"""Preflight of the kubernetes faults against the real local control plane (RBAC on): the admin passes, a
service account that may only list pods is told which verbs it lacks (SelfSubjectAccessReview), a dead API server
and a namespace outside the section's allow-list are problems too -- every one with its step's path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chaoskit.errors import PreflightFailed
from chaoskit.loader import validate_document
from chaoskit.ports import free_port
from chaoskit.preflight import preflight
from tests.conftest import run_cli


def list_only_kubeconfig(api: Any, kubeconfig: Path, namespace: str, folder: Path) -> Path:
    """A kubeconfig with the token of a service account that may list pods in ``namespace`` and nothing else."""
    from kubernetes import client

    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "lister"}})
    rbac.create_namespaced_role(
        namespace,
        {"metadata": {"name": "lister"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]},
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "lister"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "lister"},
            "subjects": [{"kind": "ServiceAccount", "name": "lister", "namespace": namespace}],
        },
    )
    token = core.create_namespaced_service_account_token("lister", namespace, {"spec": {"expirationSeconds": 900}})
    cfg = yaml.safe_load(kubeconfig.read_text())
    cluster = cfg["clusters"][0]
    path = folder / "lister.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": "lister", "user": {"token": token.status.token}}],
                "contexts": [{"name": "lister", "context": {"cluster": cluster["name"], "user": "lister"}}],
                "current-context": "lister",
            }
        )
    )
    return path


def experiment(kubeconfig: Path, namespace: str) -> dict[str, Any]:
    return {
        "title": "k8s preflight",
        "kubernetes": {"kubeconfig": str(kubeconfig), "namespaces": [namespace], "request_timeout": "10s"},
        "method": [
            {"fault": "k8s.pod_kill", "with": {"namespace": namespace, "label_selector": "app=web"}},
            {"fault": "k8s.deployment_scale", "with": {"namespace": namespace, "name": "web", "replicas": 0}},
            {"fault": "k8s.pod_kill", "with": {"namespace": "kube-system", "label_selector": "app=web"}},
        ],
    }


def test_admin_passes_except_for_the_namespace_guard(kubeconfig: Path, namespace: str, tmp_path: Path) -> None:
    doc = experiment(kubeconfig, namespace)
    try:
        preflight(validate_document(doc, source=str(tmp_path / "exp.yaml")))
    except PreflightFailed as exc:
        problems = exc.problems
    else:
        raise AssertionError("kube-system is outside the allowed namespaces: preflight must say so")
    assert [p.path for p in problems] == ["method[2].with"]
    assert "kube-system" in problems[0].message


def test_missing_rbac_verbs_are_named(api: Any, kubeconfig: Path, namespace: str, tmp_path: Path) -> None:
    limited = list_only_kubeconfig(api, kubeconfig, namespace, tmp_path)
    doc = experiment(limited, namespace)
    doc["method"] = doc["method"][:2]
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = run_cli("validate", "--preflight", str(path))
    assert result.returncode == 6, result.stderr
    shown = result.stderr
    assert f"method[0].with: the credentials (kubeconfig {limited}) may not delete pods in namespace {namespace}" in (
        shown
    )
    assert "may not list pods" not in shown  # granted
    assert f"method[1].with: the credentials (kubeconfig {limited}) may not get deployments.apps/scale" in shown
    assert "may not patch deployments.apps/scale" in shown
    assert "token" not in shown.lower().replace("tokens", "")


def test_an_unreachable_api_server_is_a_problem_not_a_hang(kubeconfig: Path, namespace: str, tmp_path: Path) -> None:
    cfg = yaml.safe_load(kubeconfig.read_text())
    cfg["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(yaml.safe_dump(cfg))
    doc = experiment(dead, namespace)
    doc["method"] = doc["method"][:1]
    doc["kubernetes"]["request_timeout"] = "2s"
    try:
        preflight(validate_document(doc, source=str(tmp_path / "exp.yaml")))
    except PreflightFailed as exc:
        [problem] = exc.problems
    else:
        raise AssertionError("a dead API server must fail preflight")
    assert problem.path == "method[0].with" and "reaching the API server" in problem.message
