"""The scale mechanics against the real control plane: paged lists, the watch-fed pod view (counters, bounded
details, the time a condition became true), and deletes several at a time. (410 Gone and
429 Too Many Requests: test_k8s_watch_protocol.py.)"""

from __future__ import annotations

import json
import time
from typing import Any

from chaoskit_kubernetes import listing
from chaoskit_kubernetes.connection import Conn
from chaoskit_kubernetes.pods import PodKillFault, PodKillParams
from chaoskit_kubernetes.podview import NAMES_CAP
from chaoskit_kubernetes.probes import PodsParams, PodsReadyParams, PodsReadyProbe, RestartsProbe
from chaoskit_kubernetes.section import KubernetesSection
from chaoskit_kubernetes.targets import live_pod

from chaoskit.plugin import Context
from tests.kubernetes.conftest import deployment, wait_for


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
