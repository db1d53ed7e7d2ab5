"""Node faults: cordon, and drain (cordon + evict the node's pods). Reverts uncordon only the nodes that were
schedulable before the fault, so a node an operator had cordoned stays cordoned."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chaoskit.plugin import Context, Fault
from chaoskit_kubernetes.connection import Conn, KubeError
from chaoskit_kubernetes.pods import evict
from chaoskit_kubernetes.targets import Selection, resolve_nodes


class NodeParams(Selection):
    """Nodes by names or selectors (nodes are cluster-wide: no namespace)."""


class DrainParams(NodeParams):
    grace_period_s: int | None = Field(default=None, ge=0, description="Grace period of the evicted pods.")


def _plan(params: NodeParams, ctx: Context, what: str) -> dict[str, Any]:
    sec, conn, nodes = resolve_nodes(params, ctx, what)
    return {
        "cluster": conn.to_info(),
        "namespaces": list(sec.namespaces),
        "nodes": [{"name": n.metadata.name, "was_unschedulable": bool(n.spec.unschedulable)} for n in nodes],
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
    """Cordon nodes and evict their pods (allowed namespaces only; DaemonSet and mirror pods stay)."""

    Params = DrainParams

    def plan(self, params: DrainParams, ctx: Context) -> dict[str, Any]:
        info = _plan(params, ctx, "k8s.node_drain")
        info["grace_period_s"] = params.grace_period_s
        conn = Conn.from_info(info)
        info["pods"], info["left"] = [], []
        for node in info["nodes"]:
            for pod in _pods_on(conn, node["name"]):
                entry = {"namespace": pod.metadata.namespace, "name": pod.metadata.name, "uid": pod.metadata.uid}
                if _stays(pod):
                    continue
                (info["pods"] if pod.metadata.namespace in info["namespaces"] else info["left"]).append(entry)
        return info

    def inject(self, params: DrainParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        conn = Conn.from_info(info)
        for node in info["nodes"]:
            _set_unschedulable(conn, node["name"], True)
        evicted: list[str] = []
        for pod in info["pods"]:
            done = evict(
                conn, pod["namespace"], pod["name"], pod["uid"], info["grace_period_s"], "k8s.node_drain", evicted
            )
            if done:
                evicted.append(f"{pod['namespace']}/{pod['name']}")
        return {**info, "evicted": evicted}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        _uncordon(info)  # evicted pods are recreated by their controllers on schedulable nodes

    def describe(self, info: dict[str, Any]) -> str:
        pods = ", ".join(f"{p['namespace']}/{p['name']}" for p in info.get("pods", [])) or "none"
        left = info.get("left") or []
        note = f"; {len(left)} pod(s) outside the allowed namespaces stay" if left else ""
        return f"drain node(s) {_names(info)}: cordon, then evict pods {pods}{note}"


def _pods_on(conn: Conn, node: str) -> list[Any]:
    pods = conn.call(
        f"k8s.node_drain: listing the pods on node {node}",
        conn.core().list_pod_for_all_namespaces,
        field_selector=f"spec.nodeName={node}",
    )
    return sorted(pods.items, key=lambda p: (p.metadata.namespace, p.metadata.name))


def _stays(pod: Any) -> bool:
    """DaemonSet pods (their controller ignores cordons), mirror pods, and pods already finished or going."""
    owners = pod.metadata.owner_references or []
    annotations = pod.metadata.annotations or {}
    return (
        any(o.kind == "DaemonSet" for o in owners)
        or "kubernetes.io/config.mirror" in annotations
        or pod.metadata.deletion_timestamp is not None
        or pod.status.phase in ("Succeeded", "Failed")
    )
