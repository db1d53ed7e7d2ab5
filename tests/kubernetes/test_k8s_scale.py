"""The scale mechanics against the real control plane: paged lists, the watch-fed pod view (counters, bounded
details, relist on 410 Gone, the time a condition became true), and deletes several at a time."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from chaoskit_kubernetes import listing
from chaoskit_kubernetes.connection import Conn
from chaoskit_kubernetes.pods import PodKillFault, PodKillParams
from chaoskit_kubernetes.podview import NAMES_CAP, pod_view
from chaoskit_kubernetes.probes import PodsParams, PodsReadyParams, PodsReadyProbe, RestartsProbe
from chaoskit_kubernetes.section import KubernetesSection
from chaoskit_kubernetes.targets import live_pod

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from tests.kubernetes.conftest import deployment, ready_pods, wait_for


def _conn(ctx: Context) -> Conn:
    return Conn.of(ctx.section("kubernetes", KubernetesSection), ctx)


def _unschedulable(apps: Any, ns: str, replicas: int) -> None:
    """A Deployment whose pods never get a node (a nodeSelector no node has): they stay Pending, not Ready."""
    labels = {"app": "stuck"}
    apps.create_namespaced_deployment(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "stuck", "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"nodeSelector": {"chaoskit.io/no-such-node": "x"},
                     "containers": [{"name": "app", "image": "example.invalid/app:1"}]}}},
    })  # fmt: skip


def test_paged_list_returns_every_pod_once(
    ctx: Context, apps: Any, core: Any, namespace: str, monkeypatch: Any
) -> None:
    names = deployment(apps, core, namespace, replicas=12)
    monkeypatch.setattr(listing, "PAGE", 5)  # 12 pods: three pages
    calls: list[dict[str, Any]] = []
    conn = _conn(ctx)
    fn = conn.core().list_namespaced_pod

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return fn(*args, **kwargs)

    pods, version = listing.list_all(conn, "test", spy, (namespace,), {"label_selector": "app=web"}, live_pod)
    assert sorted(p.name for p in pods) == names and int(version) > 0
    assert [c["limit"] for c in calls] == [5, 5, 5] and "_continue" in calls[1] and "_continue" in calls[2]


def test_view_counts_and_bounded_details(ctx: Context, apps: Any, core: Any, namespace: str) -> None:
    deployment(apps, core, namespace, replicas=3)
    _unschedulable(apps, namespace, 15)
    probe = PodsReadyProbe()
    params = PodsReadyParams(namespace=namespace, min_ready=3)
    obs = wait_for(lambda: (o := probe.observe(params, ctx)).details["total"] == 18 and o, 60, "18 pods in the view")
    assert obs.value == 3 and obs.details["ready"] == 3 and obs.details["not_ready"] == 15
    shown = obs.details["not_ready_pods"]
    assert len(shown) == NAMES_CAP and shown == sorted(shown) and all(n.startswith("stuck-") for n in shown)
    assert len(json.dumps(obs.details)) < 2048, "an observation's details stay small whatever the pod count"
    restarts = RestartsProbe().observe(PodsParams(namespace=namespace), ctx)
    assert restarts.value == 0 and restarts.details == {"total": 18, "pods": {}}


def test_view_relists_when_its_version_is_gone(ctx: Context, apps: Any, core: Any, namespace: str) -> None:
    deployment(apps, core, namespace, replicas=2)
    conn = _conn(ctx)
    view = pod_view(conn, namespace, "app=web", None, "test")
    assert view.relists == 1 and view.ready == 2
    wait_for(lambda: view._response is not None, 10, "the watch is connected")
    view._version = "1"  # long compacted: resuming from it answers 410 Gone
    view._response.shutdown()  # drop the stream: the watch resumes from version 1
    wait_for(lambda: view.relists == 2, 30, "a relist after 410 Gone")
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
    assert view.wait_for(lambda v: v.ready == 3, 30) is not None, "the watch resumed after the relist"


def test_kill_many_at_once_and_ready_time_from_the_stream(ctx: Context, apps: Any, core: Any, namespace: str) -> None:
    deployment(apps, core, namespace, replicas=30)
    probe = PodsReadyProbe()
    ready_all = PodsReadyParams(namespace=namespace, label_selector="app=web", min_ready=30, wait=60)
    assert probe.observe(ready_all, ctx).details["waited_s"] == 0.0  # the view is listed and watching
    fault = PodKillFault()
    params = PodKillParams(namespace=namespace, label_selector="app=web", mode="count", count=10, concurrency=8)
    sec = ctx.section("kubernetes", KubernetesSection)
    kill_ctx = Context(sections={"kubernetes": sec.model_copy(update={"max_targets": 10})}, work_dir=ctx.work_dir)
    info = fault.plan(params, kill_ctx)
    done = fault.inject(params, info, kill_ctx)
    assert done is not None and sorted(done["killed"] + done["gone"]) == sorted(p["name"] for p in info["pods"])
    assert len(done["killed"]) >= 9
    t0 = time.monotonic()
    obs = probe.observe(ready_all, ctx)
    took = time.monotonic() - t0
    assert obs.value == 30 and obs.details["min_ready_met"] is True
    assert obs.details["waited_s"] <= took + 0.01, "the time the condition held in the stream, not later"


def _jailed_kubeconfig(api: Any, core: Any, kubeconfig: Path, ns: str, tmp: Path) -> tuple[Path, Callable[[], None]]:
    """A kubeconfig for a service account whose every request API priority and fairness rejects (a priority
    level with no seats: 429 with Retry-After), and the function that lifts that (deletes its FlowSchema)."""
    from kubernetes import client

    core.create_namespaced_service_account(ns, {"metadata": {"name": "jailed"}})
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(ns, {
        "metadata": {"name": "jailed-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "jailed", "namespace": ns}],
    })  # fmt: skip
    flow = client.FlowcontrolApiserverV1Api(api)
    level = f"jail-{ns}"
    flow.create_priority_level_configuration({
        "metadata": {"name": level},
        "spec": {"type": "Limited", "limited": {
            "nominalConcurrencyShares": 0, "lendablePercent": 0, "borrowingLimitPercent": 0,
            "limitResponse": {"type": "Reject"}}},
    })  # fmt: skip
    account = {"kind": "ServiceAccount", "serviceAccount": {"name": "jailed", "namespace": ns}}
    everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "namespaces": ["*"]}
    flow.create_flow_schema({
        "metadata": {"name": level},
        "spec": {"priorityLevelConfiguration": {"name": level}, "matchingPrecedence": 100,
                 "rules": [{"subjects": [account], "resourceRules": [everything]}]},
    })  # fmt: skip
    token = core.create_namespaced_service_account_token("jailed", ns, {"spec": {"expirationSeconds": 3600}})
    cfg = yaml.safe_load(kubeconfig.read_text())
    cfg["users"] = [{"name": "jailed", "user": {"token": token.status.token}}]
    for c in cfg["contexts"]:
        c["context"]["user"] = "jailed"
    path = tmp / "jailed.kubeconfig"
    path.write_text(yaml.safe_dump(cfg))

    def lift() -> None:
        flow.delete_flow_schema(level)
        flow.delete_priority_level_configuration(level)

    return path, lift


def test_deletes_wait_out_429_too_many_requests(
    ctx: Context, api: Any, apps: Any, core: Any, namespace: str, kubeconfig: Path, tmp_path: Path
) -> None:
    names = deployment(apps, core, namespace, replicas=3)
    jailed, lift = _jailed_kubeconfig(api, core, kubeconfig, namespace, tmp_path)
    fault = PodKillFault()
    params = PodKillParams(namespace=namespace, label_selector="app=web", mode="all", concurrency=3)
    info = fault.plan(params, ctx)
    info["cluster"]["kubeconfig"] = str(jailed)  # inject as the throttled account
    try:
        with pytest.raises(PluginError, match=r"3 of 3 failed: .*answered 429"):
            fault.inject(params, info, Context(timeout=3))  # retried for 90 % of the step's 3 s, then refused
        assert ready_pods(core, namespace, "app=web", 3) == names, "nothing was deleted while throttled"
        threading.Timer(2.0, lift).start()
        t0 = time.monotonic()
        done = fault.inject(params, info, Context(timeout=30))
        took = time.monotonic() - t0
    finally:
        with contextlib.suppress(Exception):
            lift()
    assert done is not None and sorted(done["killed"]) == names
    assert 1.5 <= took < 25, "the deletes waited for the throttling to end, then went through"
