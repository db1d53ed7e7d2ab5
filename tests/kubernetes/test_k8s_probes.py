"""Probes against the real control plane; ``wait`` watches until the condition holds (bounded)."""

from __future__ import annotations

import threading
import time
from typing import Any

from chaoskit_kubernetes.probes import (
    DeploymentAvailableParams,
    DeploymentAvailableProbe,
    NoCrashLoopProbe,
    NodeReadyParams,
    NodeReadyProbe,
    PodsParams,
    PodsReadyParams,
    PodsReadyProbe,
    RestartsProbe,
    WaitPodsParams,
)

from chaoskit.plugin import Context
from tests.kubernetes.conftest import deployment, wait_for


def later(seconds: float, fn: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        fn()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_pods_ready_watches_until_enough_pods_are_ready(ctx: Context, apps: Any, core: Any, namespace: str) -> None:
    deployment(apps, core, namespace, replicas=1)
    probe = PodsReadyProbe()
    once = probe.observe(PodsReadyParams(namespace=namespace, label_selector="app=web", min_ready=3), ctx)
    assert once.value == 1 and once.details["min_ready_met"] is False and once.details["waited_s"] == 0.0
    scale_up = later(1.5, lambda: apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}}))
    t0 = time.monotonic()
    obs = probe.observe(PodsReadyParams(namespace=namespace, label_selector="app=web", min_ready=3, wait=60), ctx)
    took = time.monotonic() - t0
    scale_up.join()
    assert obs.value == 3 and obs.details["min_ready_met"] is True
    assert 1.0 <= obs.details["waited_s"] <= took < 30, "returned as soon as the watch saw 3 ready pods"


def test_pods_ready_wait_is_bounded(ctx: Context, apps: Any, core: Any, namespace: str) -> None:
    deployment(apps, core, namespace, replicas=1)
    t0 = time.monotonic()
    obs = PodsReadyProbe().observe(
        PodsReadyParams(namespace=namespace, label_selector="app=web", min_ready=5, wait=2), ctx
    )
    assert obs.value == 1 and obs.details["min_ready_met"] is False
    assert 2 <= time.monotonic() - t0 < 15


def test_deployment_available_waits_for_the_scale_back(ctx: Context, apps: Any, core: Any, namespace: str) -> None:
    deployment(apps, core, namespace, replicas=2)
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 0}})
    wait_for(lambda: not apps.read_namespaced_deployment(namespace=namespace, name="web").status.available_replicas,
             60, "no available replica")  # fmt: skip
    probe = DeploymentAvailableProbe()
    scale_up = later(1.0, lambda: apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 2}}))
    obs = probe.observe(DeploymentAvailableParams(namespace=namespace, name="web", min_available=2, wait=60), ctx)
    scale_up.join()
    assert obs.value == 2 and obs.details["desired"] == 2 and obs.details["waited_s"] > 0
    missing = probe.observe(DeploymentAvailableParams(namespace=namespace, name="nope"), ctx)
    assert missing.value == 0 and missing.details["exists"] is False


def _fake_status(core: Any, ns: str, pod: Any, restarts: int, waiting: str | None) -> None:
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    status = {"containerStatuses": [{
        "name": "app", "image": "example.invalid/app:1", "imageID": "", "ready": waiting is None,
        "restartCount": restarts, "state": state,
    }]}  # fmt: skip
    core.patch_namespaced_pod_status(pod.metadata.name, ns, {"status": status})


def test_restarts_and_crash_loop_are_read_from_the_pod_status(
    ctx: Context, apps: Any, core: Any, namespace: str
) -> None:
    deployment(apps, core, namespace, replicas=2)
    params = PodsParams(namespace=namespace, label_selector="app=web")
    assert RestartsProbe().observe(params, ctx).value == 0
    healthy = NoCrashLoopProbe().observe(WaitPodsParams(namespace=namespace, label_selector="app=web"), ctx)
    assert healthy.value is True and healthy.details["crashlooping"] == []
    pod = core.list_namespaced_pod(namespace, label_selector="app=web").items[0]
    _fake_status(core, namespace, pod, 4, "CrashLoopBackOff")  # as a kubelet would report it (kwok has none)
    # the probes read a watch-fed view: it sees the change once the event arrives (milliseconds)
    restarts = wait_for(lambda: _nonzero(RestartsProbe().observe(params, ctx)), 10, "the restarts seen")
    assert restarts.value == 4 and restarts.details["pods"] == {pod.metadata.name: 4}
    crash = NoCrashLoopProbe().observe(WaitPodsParams(namespace=namespace, label_selector="app=web"), ctx)
    assert crash.value is False and crash.details["crashlooping"] == [pod.metadata.name]
    fix = later(1.0, lambda: _fake_status(core, namespace, pod, 4, None))
    recovered = NoCrashLoopProbe().observe(WaitPodsParams(namespace=namespace, label_selector="app=web", wait=30), ctx)
    fix.join()
    assert recovered.value is True and recovered.details["waited_s"] > 0


def _nonzero(obs: Any) -> Any:
    return obs if obs.value else None


def test_node_ready(ctx: Context, core: Any) -> None:
    nodes = sorted(n.metadata.name for n in core.list_node().items)
    obs = NodeReadyProbe().observe(NodeReadyParams(), ctx)
    assert obs.value is True and obs.details["ready"] == nodes
    missing = NodeReadyProbe().observe(NodeReadyParams(names=["no-such-node"]), ctx)
    assert missing.value is False and missing.details["missing"] == ["no-such-node"]
