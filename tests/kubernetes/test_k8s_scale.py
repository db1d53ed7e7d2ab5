"""The scale mechanics against the real control plane: paged lists, the watch-fed pod view (counters, bounded
details, the time a condition became true), and deletes several at a time. (410 Gone and
429 Too Many Requests: test_k8s_watch_protocol.py.)"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from chaoskit_kubernetes import listing, podview
from chaoskit_kubernetes.connection import Conn
from chaoskit_kubernetes.hooks import hooks, start_views
from chaoskit_kubernetes.pods import PodKillFault, PodKillParams
from chaoskit_kubernetes.podview import NAMES_CAP
from chaoskit_kubernetes.probes import PodsParams, PodsReadyParams, PodsReadyProbe, RestartsProbe
from chaoskit_kubernetes.section import KubernetesSection
from chaoskit_kubernetes.targets import live_pod

from chaoskit.model.journal import Journal
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


def _journal(doc: dict[str, Any], dry_run: bool = False) -> Journal:
    return Journal(run_id="t", chaoskit_version="0", title="t", experiment=doc, started_at=time.time(), dry_run=dry_run)


def test_run_start_lists_the_pod_probes_pods_before_the_first_observation(
    kubeconfig: Path, apps: Any, core: Any, namespace: str
) -> None:
    deployment(apps, core, namespace, replicas=3)
    ready = {"namespace": namespace, "label_selector": "app=web", "min_ready": 3}
    doc = {
        "title": "t",
        "kubernetes": {"kubeconfig": str(kubeconfig), "namespaces": [namespace]},
        "steady_state": {"probes": [{"probe": "k8s.pods_ready", "with": ready}]},
        "method": [{"probe": "k8s.no_crashloop", "with": {"namespace": namespace}}, {"pause": "1s"}],
    }
    try:
        hooks.chaoskit_run_started(_journal(doc, dry_run=True))
        assert not podview._views, "a dry run lists nothing"
        hooks.chaoskit_run_started(_journal(doc))
        views = dict(podview._views)
        assert sorted((str(v.selectors["label_selector"]), v.total, v.ready) for v in views.values()) == [
            ("None", 3, 3),
            ("app=web", 3, 3),
        ]
        sec = KubernetesSection(kubeconfig=str(kubeconfig), namespaces=[namespace])
        obs = PodsReadyProbe().observe(PodsReadyParams(**ready), Context(sections={"kubernetes": sec}))
        assert obs.value == 3 and dict(podview._views) == views, "the probe reads the view the hook started"
        assert all(v.relists == 1 for v in views.values()), "listed once, at run start"
    finally:
        hooks.chaoskit_run_finished(_journal(doc))
    assert not podview._views


def test_run_start_leaves_a_view_it_cannot_start_to_the_probe(tmp_path: Path) -> None:
    doc = {
        "kubernetes": {"kubeconfig": str(tmp_path / "missing"), "namespaces": ["default"]},
        "steady_state": {"probes": [{"probe": "k8s.pods_ready", "with": {"min_ready": 1}}]},
    }
    try:
        assert start_views(_journal(doc)) == 0  # no exception: the probe meets it and reports it itself
        assert all(view._thread is None for view in podview._views.values()), "nothing watching"
    finally:
        podview.close_views()
