"""Pod faults: kill (delete) and evict (the eviction API, which honours PodDisruptionBudgets).

Neither has anything to undo: the pods' controllers (ReplicaSet, StatefulSet...) create replacements,
which is the recovery the experiment watches. Deletes and evictions carry the pod's UID as a
precondition, so a replacement that took the same name is never hit by a retry.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chaoskit.errors import PluginError
from chaoskit.plugin import Context, Fault
from chaoskit_kubernetes.connection import Conn, KubeError
from chaoskit_kubernetes.targets import PodSelection, resolve_pods


class PodKillParams(PodSelection):
    grace_period_s: int | None = Field(
        default=None, ge=0, description="Termination grace period in seconds; default: the pod's own."
    )
    force: bool = Field(default=False, description="Delete at once (grace period 0), like kubectl --force.")


class PodEvictParams(PodSelection):
    grace_period_s: int | None = Field(default=None, ge=0, description="Grace period of the evicted pods.")


def _plan(params: PodSelection, ctx: Context, what: str) -> dict[str, Any]:
    _, conn, pods = resolve_pods(params, ctx, what)
    return {
        "cluster": conn.to_info(),
        "namespace": params.namespace,
        "pods": [{"name": p.metadata.name, "uid": p.metadata.uid, "node": p.spec.node_name} for p in pods],
    }


def _describe(verb: str, info: dict[str, Any]) -> str:
    names = ", ".join(p["name"] for p in info["pods"])
    return f"{verb} {len(info['pods'])} pod(s) in namespace {info['namespace']}: {names}"


class PodKillFault(Fault[PodKillParams]):
    """Delete pods (grace period or force); their controllers recreate them."""

    Params = PodKillParams

    def plan(self, params: PodKillParams, ctx: Context) -> dict[str, Any]:
        info = _plan(params, ctx, "k8s.pod_kill")
        info["grace_period_s"] = 0 if params.force else params.grace_period_s
        return info

    def inject(self, params: PodKillParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        from kubernetes import client

        conn = Conn.from_info(info)
        core = conn.core()
        killed = []
        for pod in info["pods"]:
            body = client.V1DeleteOptions(
                grace_period_seconds=info["grace_period_s"], preconditions=client.V1Preconditions(uid=pod["uid"])
            )
            try:
                conn.call(
                    f"k8s.pod_kill: deleting pod {info['namespace']}/{pod['name']}",
                    core.delete_namespaced_pod,
                    pod["name"],
                    info["namespace"],
                    body=body,
                )
            except KubeError as exc:
                if exc.status not in (404, 409):  # already gone, or already replaced (UID precondition)
                    raise
            killed.append(pod["name"])
        return {**info, "killed": killed}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        return None  # nothing to undo: the controllers recreate the pods

    def describe(self, info: dict[str, Any]) -> str:
        grace = info.get("grace_period_s")
        how = "default grace period" if grace is None else f"grace period {grace}s"
        return _describe("delete", info) + f" ({how})"


class PodEvictFault(Fault[PodEvictParams]):
    """Evict pods through the eviction API; a PodDisruptionBudget that forbids it fails the fault clearly."""

    Params = PodEvictParams

    def plan(self, params: PodEvictParams, ctx: Context) -> dict[str, Any]:
        info = _plan(params, ctx, "k8s.pod_evict")
        info["grace_period_s"] = params.grace_period_s
        return info

    def inject(self, params: PodEvictParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        conn = Conn.from_info(info)
        evicted: list[str] = []
        for pod in info["pods"]:
            evict(
                conn, info["namespace"], pod["name"], pod["uid"], info.get("grace_period_s"), "k8s.pod_evict", evicted
            )
            evicted.append(pod["name"])
        return {**info, "evicted": evicted}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        return None  # nothing to undo: the controllers recreate the pods

    def describe(self, info: dict[str, Any]) -> str:
        return _describe("evict", info) + " (eviction API: PodDisruptionBudgets apply)"


def evict(
    conn: Conn, namespace: str, name: str, uid: str | None, grace: int | None, what: str, done: list[str]
) -> bool:
    """Evict one pod. False if it is gone already; a PDB refusal (429) raises a PluginError naming it."""
    from kubernetes import client

    body = client.V1Eviction(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace),
        delete_options=client.V1DeleteOptions(
            grace_period_seconds=grace, preconditions=client.V1Preconditions(uid=uid) if uid else None
        ),
    )
    try:
        conn.call(
            f"{what}: evicting pod {namespace}/{name}",
            conn.core().create_namespaced_pod_eviction,
            name,
            namespace,
            body,
        )
    except KubeError as exc:
        if exc.status in (404, 409):
            return False
        if exc.status == 429:
            before = f" (evicted before it: {', '.join(done)})" if done else ""
            raise PluginError(
                f"{what}: eviction of pod {namespace}/{name} was refused by a PodDisruptionBudget (429): "
                f"{str(exc).split(': ', 2)[-1]}{before}"
            ) from exc
        raise
    return True
