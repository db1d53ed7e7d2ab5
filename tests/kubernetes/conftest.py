"""One real local control plane per test session (scripts/k8s-control-plane.sh: kube-apiserver, controller-manager,
scheduler, etcd, kwok nodes); every test gets its own namespace."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chaoskit_kubernetes.podview import close_views
from chaoskit_kubernetes.section import KubernetesSection

from chaoskit.plugin import Context
from tests.conftest import ROOT, wait_for

sys.path.insert(0, str(ROOT / "scripts"))
from k8s_cluster import ClusterError, local_cluster

NODES = 2


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workdir = tmp_path_factory.mktemp("k8s")
    try:
        cm = local_cluster(workdir, nodes=NODES)
        path = cm.__enter__()
    except ClusterError as exc:
        pytest.fail(f"cannot start the local Kubernetes control plane: {exc}", pytrace=False)
    try:
        yield path
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def api(kubeconfig: Path) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture(scope="session")
def core(api: Any) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def apps(api: Any) -> Any:
    from kubernetes import client

    return client.AppsV1Api(api)


@pytest.fixture
def namespace(core: Any) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}}, _request_timeout=30)
    wait_for(lambda: _has_default_sa(core, name), 30, f"service account default in {name}")
    yield name
    core.delete_namespace(name, _request_timeout=30)


def _has_default_sa(core: Any, ns: str) -> bool:
    return any(sa.metadata.name == "default" for sa in core.list_namespaced_service_account(ns).items)


@pytest.fixture
def ctx(kubeconfig: Path, namespace: str, tmp_path: Path) -> Iterator[Context]:
    """A plugin context whose section allows only the test's namespace; the pod probes' watches stop after."""
    sec = KubernetesSection(kubeconfig=str(kubeconfig), namespaces=[namespace], request_timeout=20)
    yield Context(run_id=uuid.uuid4().hex[:12], sections={"kubernetes": sec}, work_dir=tmp_path)
    close_views()


def deployment(apps: Any, core: Any, ns: str, name: str = "web", replicas: int = 2) -> list[str]:
    """Create a Deployment and wait until all its pods are Ready; return their names."""
    labels = {"app": name}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "example.invalid/app:1"}]},
            },
        },
    }
    apps.create_namespaced_deployment(ns, body, _request_timeout=30)
    return wait_for(lambda: ready_pods(core, ns, f"app={name}", replicas), 60, f"{replicas} ready pods of {name}")


def ready_pods(core: Any, ns: str, selector: str, count: int) -> list[str] | None:
    pods = core.list_namespaced_pod(ns, label_selector=selector, _request_timeout=30).items
    ready = sorted(
        p.metadata.name
        for p in pods
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
    )
    return ready if len(ready) >= count else None
