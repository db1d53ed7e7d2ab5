"""Node faults: cordon, and drain (cordon + evict the node's pods). Reverts uncordon only the nodes that were
schedulable before the fault, so a node an operator had cordoned stays cordoned."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.plugin import Context, Fault
from chaoskit_kubernetes.bulk import (
    CONCURRENCY_HELP,
    DEFAULT_CONCURRENCY,
    check_time,
    deadline,
    failures,
    for_each,
    summary,
)
from chaoskit_kubernetes.connection import POOL_SIZE, Conn, KubeError
from chaoskit_kubernetes.listing import list_all
from chaoskit_kubernetes.pods import NAMES_SHOWN, evict
from chaoskit_kubernetes.targets import Obj, Selection, project, resolve_nodes


class NodeParams(Selection):
    """Nodes by names or selectors (nodes are cluster-wide: no namespace)."""


class DrainParams(NodeParams):
    grace_period_s: int | None = Field(default=None, ge=0, description="Grace period of the evicted pods.")
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=POOL_SIZE, description=CONCURRENCY_HELP)
    timeout: Duration = Field(
        default=20.0,
        gt=0,
        description="Keep retrying evictions a PodDisruptionBudget refuses until this long after the drain "
        "started (like kubectl drain --timeout); then the drain fails naming the pods. Keep it below the step's "
        "timeout.",
    )
    retry_interval: Duration = Field(
        default=5.0, gt=0, description="Wait between two tries of an eviction a PodDisruptionBudget refused."
    )


def _plan(params: NodeParams, ctx: Context, what: str) -> dict[str, Any]:
    sec, conn, nodes = resolve_nodes(params, ctx, what)
    return {
        "cluster": conn.to_info(),
        "namespaces": list(sec.namespaces),
        "nodes": [{"name": n.name, "was_unschedulable": n.unschedulable} for n in nodes],
    }


def _set_unschedulable(conn: Conn, name: str, value: bool) -> None:
    conn.call(
        f"{'cordoning' if value else 'uncordoning'} node {name}",
        conn.core().patch_node,
        name,
        {"spec": {"unschedulable": value}},
    )


def _uncordon(info: dict[str, Any]) -> None:
    conn = Conn.from_info(info)
    for node in info["nodes"]:
        if node["was_unschedulable"]:
            continue  # cordoned before the fault: leave it as it was
        try:
            _set_unschedulable(conn, node["name"], False)
        except KubeError as exc:
            if exc.status != 404:  # the node is gone
                raise


def _names(info: dict[str, Any]) -> str:
    return ", ".join(n["name"] + (" (already cordoned)" if n["was_unschedulable"] else "") for n in info["nodes"])


class NodeCordonFault(Fault[NodeParams]):
    """Mark nodes unschedulable; revert uncordons those that were schedulable before."""

    Params = NodeParams

    def preflight(self, params: NodeParams, ctx: Context) -> list[str]:
        from chaoskit_kubernetes.preflight import kube_preflight

        return kube_preflight(self, params, ctx)

    def plan(self, params: NodeParams, ctx: Context) -> dict[str, Any]:
        return _plan(params, ctx, "k8s.node_cordon")

    def inject(self, params: NodeParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        conn = Conn.from_info(info)
        for node in info["nodes"]:
            _set_unschedulable(conn, node["name"], True)
        return None

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        _uncordon(info)

    def describe(self, info: dict[str, Any]) -> str:
        return f"cordon node(s) {_names(info)}"


class NodeDrainFault(Fault[DrainParams]):
    """Cordon nodes and evict their pods (allowed namespaces only; DaemonSet and mirror pods stay); evictions a
    PodDisruptionBudget refuses are retried until the drain's timeout, like kubectl drain."""

    Params = DrainParams

    def preflight(self, params: DrainParams, ctx: Context) -> list[str]:
        from chaoskit_kubernetes.preflight import kube_preflight

        return kube_preflight(self, params, ctx)

    def plan(self, params: DrainParams, ctx: Context) -> dict[str, Any]:
        info = _plan(params, ctx, "k8s.node_drain")
        info["grace_period_s"] = params.grace_period_s
        conn = Conn.from_info(info)
        info["pods"], info["left"] = [], []
        for node in info["nodes"]:
            for pod in _pods_on(conn, node["name"]):
                if pod.stays:
                    continue
                entry = {"namespace": pod.namespace, "name": pod.name, "uid": pod.uid}
                (info["pods"] if pod.namespace in info["namespaces"] else info["left"]).append(entry)
        check_time(ctx, "k8s.node_drain", len(info["pods"]), params.concurrency, params.timeout)
        return info

    def inject(self, params: DrainParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        until = deadline(ctx, params.timeout)
        conn = Conn.from_info(info)
        for node in info["nodes"]:
            _set_unschedulable(conn, node["name"], True)
        results = for_each(
            info["pods"],
            lambda pod: evict(
                conn,
                pod["namespace"],
                pod["name"],
                pod["uid"],
                info["grace_period_s"],
                "k8s.node_drain",
                until,
                params.retry_interval,
            ),
            params.concurrency,
            until,
        )
        evicted = [f"{p['namespace']}/{p['name']}" for p, r in results if r is True]
        failed = failures(results)
        if failed:
            done = f"; evicted {len(evicted)} pod(s) before that" if evicted else ""
            raise PluginError(f"k8s.node_drain: {summary(failed, len(results))}{done}")
        return {**info, "evicted": evicted}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        _uncordon(info)  # evicted pods are recreated by their controllers on schedulable nodes

    def describe(self, info: dict[str, Any]) -> str:
        pods = [f"{p['namespace']}/{p['name']}" for p in info.get("pods", [])]
        shown = ", ".join(pods[:NAMES_SHOWN]) + (
            f" and {len(pods) - NAMES_SHOWN} more" if len(pods) > NAMES_SHOWN else ""
        )
        left = info.get("left") or []
        note = f"; {len(left)} pod(s) outside the allowed namespaces stay" if left else ""
        return f"drain node(s) {_names(info)}: cordon, then evict {len(pods)} pod(s) {shown or 'none'}{note}"


def _pods_on(conn: Conn, node: str) -> list[Obj]:
    pods, _ = list_all(
        conn,
        f"k8s.node_drain: listing the pods on node {node}",
        conn.core().list_pod_for_all_namespaces,
        (),
        {"field_selector": f"spec.nodeName={node}"},
        project,
    )
    return sorted(pods, key=lambda p: (p.namespace, p.name))
