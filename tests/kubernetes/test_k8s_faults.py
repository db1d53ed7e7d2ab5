"""Each fault against the real control plane: plan, inject, check from outside, revert, check again."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from chaoskit_kubernetes.network import NetworkPartitionFault, PartitionParams
from chaoskit_kubernetes.nodes import DrainParams, NodeCordonFault, NodeDrainFault, NodeParams
from chaoskit_kubernetes.pods import PodEvictFault, PodEvictParams, PodKillFault, PodKillParams
from chaoskit_kubernetes.section import KubernetesSection
from chaoskit_kubernetes.workloads import DeploymentParams, DeploymentScaleFault, RolloutRestartFault, ScaleParams

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from tests.kubernetes.conftest import deployment, ready_pods, wait_for


def test_pod_kill_deletes_the_planned_pod_and_a_replacement_becomes_ready(
    ctx: Context, apps: Any, core: Any, namespace: str
) -> None:
    before = deployment(apps, core, namespace, replicas=3)
    fault = PodKillFault()
    params = PodKillParams(namespace=namespace, label_selector="app=web", mode="count", count=2, seed=7, force=True)
    info = fault.plan(params, ctx)
    assert info == fault.plan(params, ctx), "a fixed seed picks the same pods"
    victims = [p["name"] for p in info["pods"]]
    assert len(victims) == 2 and set(victims) <= set(before)
    assert "cluster" in info and "token" not in str(info)
    done = fault.inject(params, info, ctx)
    assert done is not None and done["killed"] == victims
    after = wait_for(lambda: ready_pods(core, namespace, "app=web", 3), 60, "3 ready pods again")
    assert not set(victims) & set(after), "the killed pods were replaced by new ones"
    fault.revert(info, ctx)  # nothing to undo; must not fail


def test_scale_down_is_restored_by_revert_from_the_info_alone(
    ctx: Context, apps: Any, core: Any, namespace: str
) -> None:
    deployment(apps, core, namespace, replicas=3)
    fault = DeploymentScaleFault()
    params = ScaleParams(namespace=namespace, name="web", replicas=0)
    info = fault.plan(params, ctx)
    assert info["original_replicas"] == 3 and info["replicas"] == 0
    fault.inject(params, info, ctx)
    assert (apps.read_namespaced_deployment_scale("web", namespace).spec.replicas or 0) == 0  # 0 is omitted
    wait_for(lambda: not core.list_namespaced_pod(namespace, label_selector="app=web").items, 60, "pods gone")
    fault.revert(info, Context())  # a fresh context, as `chaoskit rollback` has
    assert apps.read_namespaced_deployment_scale("web", namespace).spec.replicas == 3
    wait_for(lambda: ready_pods(core, namespace, "app=web", 3), 60, "3 ready pods again")
    fault.revert(info, Context())  # idempotent


def test_rollout_restart_replaces_every_pod(ctx: Context, apps: Any, core: Any, namespace: str) -> None:
    before = deployment(apps, core, namespace, replicas=2)
    fault = RolloutRestartFault()
    params = DeploymentParams(namespace=namespace, name="web")
    info = fault.plan(params, ctx)
    assert fault.inject(params, info, ctx) is not None

    def replaced() -> bool:
        now = ready_pods(core, namespace, "app=web", 2)
        total = core.list_namespaced_pod(namespace, label_selector="app=web").items
        return bool(now) and not set(now) & set(before) and len(total) == 2

    wait_for(replaced, 90, "a new set of ready pods")


def _node_state(core: Any) -> dict[str, bool]:
    return {n.metadata.name: bool(n.spec.unschedulable) for n in core.list_node().items}


def test_cordon_is_reverted_and_a_node_cordoned_before_stays_cordoned(ctx: Context, core: Any) -> None:
    nodes = sorted(_node_state(core))
    assert len(nodes) >= 2
    core.patch_node(nodes[1], {"spec": {"unschedulable": True}})  # an operator cordoned it before the run
    try:
        fault = NodeCordonFault()
        params = NodeParams(names=nodes[:2], mode="all")
        info = fault.plan(params, ctx)
        assert [n["was_unschedulable"] for n in info["nodes"]] == [False, True]
        fault.inject(params, info, ctx)
        assert _node_state(core)[nodes[0]] and _node_state(core)[nodes[1]]
        fault.revert(info, Context())
        state = _node_state(core)
        assert state[nodes[0]] is False, "the node chaoskit cordoned is schedulable again"
        assert state[nodes[1]] is True, "the node cordoned before the run stays cordoned"
    finally:
        core.patch_node(nodes[1], {"spec": {"unschedulable": False}})


def _pdb(ns: str, min_available: int) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "web"}}},
    }


def _pdb_allows(api: Any, ns: str, allowed: int) -> bool:
    from kubernetes import client

    pdb = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget("web", ns)
    return pdb.status is not None and pdb.status.disruptions_allowed == allowed and pdb.status.expected_pods > 0


def test_evict_is_refused_by_a_pod_disruption_budget_with_a_clear_error(
    ctx: Context, api: Any, apps: Any, core: Any, namespace: str
) -> None:
    from kubernetes import client

    pods = deployment(apps, core, namespace, replicas=2)
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(namespace, _pdb(namespace, 2))
    wait_for(lambda: _pdb_allows(api, namespace, 0), 60, "the PDB is computed (0 disruptions allowed)")
    fault = PodEvictFault()
    params = PodEvictParams(namespace=namespace, label_selector="app=web")
    info = fault.plan(params, ctx)
    with pytest.raises(PluginError, match=r"refused by a PodDisruptionBudget \(429\)") as caught:
        fault.inject(params, info, ctx)
    assert info["pods"][0]["name"] in str(caught.value)
    assert ready_pods(core, namespace, "app=web", 2) == pods, "no pod was evicted"


def test_evict_without_a_blocking_budget_evicts(ctx: Context, api: Any, apps: Any, core: Any, namespace: str) -> None:
    from kubernetes import client

    pods = deployment(apps, core, namespace, replicas=2)
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(namespace, _pdb(namespace, 1))
    wait_for(lambda: _pdb_allows(api, namespace, 1), 60, "the PDB allows one disruption")
    fault = PodEvictFault()
    params = PodEvictParams(namespace=namespace, label_selector="app=web", seed=3)
    info = fault.plan(params, ctx)
    done = fault.inject(params, info, ctx)
    assert done is not None and done["evicted"] == [info["pods"][0]["name"]]
    after = wait_for(lambda: ready_pods(core, namespace, "app=web", 2), 60, "2 ready pods again")
    assert info["pods"][0]["name"] not in after and set(after) != set(pods)


def test_drain_respects_the_budget_and_revert_uncordons(
    ctx: Context, api: Any, apps: Any, core: Any, namespace: str
) -> None:
    from kubernetes import client

    deployment(apps, core, namespace, replicas=2)
    on_nodes = {p.spec.node_name for p in core.list_namespaced_pod(namespace, label_selector="app=web").items}
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(namespace, _pdb(namespace, 2))
    wait_for(lambda: _pdb_allows(api, namespace, 0), 60, "the PDB is computed (0 disruptions allowed)")
    fault = NodeDrainFault()
    params = DrainParams(names=sorted(on_nodes), mode="all", timeout=2.5, retry_interval=1)
    info = fault.plan(params, ctx)
    assert {p["namespace"] for p in info["pods"]} == {namespace} and len(info["pods"]) == 2
    t0 = time.monotonic()
    with pytest.raises(PluginError, match=r"PodDisruptionBudget \(429\) \(retried until the fault's timeout\)"):
        fault.inject(params, info, ctx)
    assert 1.5 <= time.monotonic() - t0 < 15, "the refusal was retried, and no longer than the drain's timeout"
    assert all(_node_state(core)[n] for n in on_nodes), "the drain cordoned before it evicted"
    assert ready_pods(core, namespace, "app=web", 2), "the budget kept every pod"
    fault.revert(info, Context())
    assert not any(_node_state(core)[n] for n in on_nodes)


def test_drain_retries_a_budget_refusal_until_the_budget_allows_it(
    ctx: Context, api: Any, apps: Any, core: Any, namespace: str
) -> None:
    from kubernetes import client

    pods = deployment(apps, core, namespace, replicas=2)
    policy = client.PolicyV1Api(api)
    policy.create_namespaced_pod_disruption_budget(namespace, _pdb(namespace, 2))
    wait_for(lambda: _pdb_allows(api, namespace, 0), 60, "the PDB is computed (0 disruptions allowed)")
    target = core.read_namespaced_pod(pods[0], namespace).spec.node_name
    fault = NodeDrainFault()
    params = DrainParams(names=[target], timeout=40, retry_interval=0.5)
    info = fault.plan(params, ctx)
    relax = threading.Timer(2.0, lambda: policy.patch_namespaced_pod_disruption_budget(
        "web", namespace, {"spec": {"minAvailable": 1}}))  # fmt: skip
    relax.start()
    t0 = time.monotonic()
    try:
        done = fault.inject(params, info, ctx)
        took = time.monotonic() - t0
    finally:
        relax.join()
        fault.revert(info, Context())
    assert done is not None and sorted(done["evicted"]) == sorted(f"{namespace}/{p['name']}" for p in info["pods"])
    assert 2.0 <= took < 35, "the drain waited for the budget, then evicted"


def test_drain_evicts_the_pods_and_they_come_back_elsewhere(ctx: Context, apps: Any, core: Any, namespace: str) -> None:
    deployment(apps, core, namespace, replicas=2)
    nodes = sorted(_node_state(core))
    pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
    target = pods[0].spec.node_name
    fault = NodeDrainFault()
    params = DrainParams(names=[target])
    info = fault.plan(params, ctx)
    try:
        done = fault.inject(params, info, ctx)
        assert done is not None and done["evicted"]

        def moved() -> bool:
            ready = ready_pods(core, namespace, "app=web", 2)
            pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
            return bool(ready) and all(p.spec.node_name != target for p in pods)

        wait_for(moved, 90, f"both pods ready off {target}")
    finally:
        fault.revert(info, Context())
    assert not any(_node_state(core)[n] for n in nodes)


def test_network_partition_creates_and_deletes_the_policy(ctx: Context, api: Any, namespace: str) -> None:
    from kubernetes import client

    net = client.NetworkingV1Api(api)
    fault = NetworkPartitionFault()
    params = PartitionParams(
        namespace=namespace, selector={"app": "web"}, direction="ingress", from_selector={"role": "attacker"}
    )
    info = fault.plan(params, ctx)
    assert net.list_namespaced_network_policy(namespace).items == [], "plan creates nothing"
    fault.inject(params, info, ctx)
    fault.inject(params, info, ctx)  # an inject retried after a cut-short one is fine
    policy = net.read_namespaced_network_policy(info["policy"], namespace)
    assert policy.spec.pod_selector.match_labels == {"app": "web"}
    assert policy.spec.policy_types == ["Ingress"] and policy.spec.egress is None
    peers = policy.spec.ingress[0].var_from
    assert peers[0].pod_selector.match_expressions[0].operator == "NotIn"
    assert policy.metadata.labels["app.kubernetes.io/managed-by"] == "chaoskit"
    fault.revert(info, Context())
    assert net.list_namespaced_network_policy(namespace).items == []
    fault.revert(info, Context())  # idempotent


def test_network_partition_both_directions_isolates_everything(ctx: Context, api: Any, namespace: str) -> None:
    from kubernetes import client

    fault = NetworkPartitionFault()
    params = PartitionParams(namespace=namespace, selector={"app": "db"})
    info = fault.plan(params, ctx)
    fault.inject(params, info, ctx)
    try:
        policy = client.NetworkingV1Api(api).read_namespaced_network_policy(info["policy"], namespace)
        assert policy.spec.policy_types == ["Ingress", "Egress"]
        assert not policy.spec.ingress and not policy.spec.egress, "no rule: nothing is allowed"
    finally:
        fault.revert(info, ctx)


def test_blast_radius_guard_refuses_namespaces_outside_the_allowlist(
    ctx: Context, apps: Any, core: Any, namespace: str
) -> None:
    for params, fault in [
        (PodKillParams(namespace="kube-system", label_selector="app=web"), PodKillFault()),
        (ScaleParams(namespace="default", name="web", replicas=0), DeploymentScaleFault()),
        (PartitionParams(namespace="default", selector={"app": "web"}), NetworkPartitionFault()),
    ]:
        with pytest.raises(PluginError, match="outside the allowed namespaces") as caught:
            fault.plan(params, ctx)  # type: ignore[arg-type]
        assert namespace in str(caught.value)
    deployment(apps, core, namespace, replicas=3)
    sec = ctx.sections["kubernetes"]
    assert isinstance(sec, KubernetesSection)
    tight = Context(sections={"kubernetes": sec.model_copy(update={"max_targets": 2})})
    with pytest.raises(PluginError, match=r"3 targets exceed kubernetes.max_targets \(2\)"):
        PodKillFault().plan(PodKillParams(namespace=namespace, label_selector="app=web", mode="all"), tight)
