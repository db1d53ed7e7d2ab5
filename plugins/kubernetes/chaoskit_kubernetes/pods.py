"""Pod faults: kill (delete) and evict (the eviction API, which honours PodDisruptionBudgets).

Neither has anything to undo: the pods' controllers (ReplicaSet, StatefulSet...) create replacements,
which is the recovery the experiment watches. Deletes and evictions carry the pod's UID as a
precondition, so a replacement that took the same name is never hit by a retry.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from chaoskit.errors import PluginError
from chaoskit.plugin import Context, Fault
from chaoskit_kubernetes.bulk import (
    CONCURRENCY_HELP,
    DEFAULT_CONCURRENCY,
    check_time,
    deadline,
    failures,
    for_each,
    retrying,
    summary,
)
from chaoskit_kubernetes.connection import POOL_SIZE, Conn, KubeError
from chaoskit_kubernetes.listing import read_body
from chaoskit_kubernetes.targets import PodSelection, resolve_pods

NAMES_SHOWN = 20  # pod names in a fault's one-line description (the revert info lists them all)


class PodKillParams(PodSelection):
    grace_period_s: int | None = Field(
        default=None, ge=0, description="Termination grace period in seconds; default: the pod's own."
    )
    force: bool = Field(default=False, description="Delete at once (grace period 0), like kubectl --force.")
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=POOL_SIZE, description=CONCURRENCY_HELP)


class PodEvictParams(PodSelection):
    grace_period_s: int | None = Field(default=None, ge=0, description="Grace period of the evicted pods.")
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=POOL_SIZE, description=CONCURRENCY_HELP)


def _plan(params: PodKillParams | PodEvictParams, ctx: Context, what: str) -> dict[str, Any]:
    _, conn, pods = resolve_pods(params, ctx, what)
    check_time(ctx, what, len(pods), params.concurrency)
    return {
        "cluster": conn.to_info(),
        "namespace": params.namespace,
        "pods": [{"name": p.name, "uid": p.uid, "node": p.node} for p in pods],
    }


def _describe(verb: str, info: dict[str, Any]) -> str:
    pods = info["pods"]
    names = ", ".join(p["name"] for p in pods[:NAMES_SHOWN])
    more = f" and {len(pods) - NAMES_SHOWN} more" if len(pods) > NAMES_SHOWN else ""
    return f"{verb} {len(pods)} pod(s) in namespace {info['namespace']}: {names}{more}"


class PodKillFault(Fault[PodKillParams]):
    """Delete pods (grace period or force), several at once; their controllers recreate them."""

    Params = PodKillParams

    def preflight(self, params: PodKillParams, ctx: Context) -> list[str]:
        from chaoskit_kubernetes.preflight import kube_preflight

        return kube_preflight(self, params, ctx)

    def plan(self, params: PodKillParams, ctx: Context) -> dict[str, Any]:
        info = _plan(params, ctx, "k8s.pod_kill")
        info["grace_period_s"] = 0 if params.force else params.grace_period_s
        return info

    def inject(self, params: PodKillParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        conn = Conn.from_info(info)
        core = conn.core()
        ns = info["namespace"]
        t0 = time.monotonic()
        until = deadline(ctx)
        body = {"gracePeriodSeconds": info["grace_period_s"]} if info["grace_period_s"] is not None else {}

        def delete(pod: dict[str, Any]) -> bool:
            try:
                retrying(
                    lambda: read_body(
                        conn.call(
                            f"k8s.pod_kill: deleting pod {ns}/{pod['name']}",
                            core.delete_namespaced_pod,
                            pod["name"],
                            ns,
                            body={**body, "preconditions": {"uid": pod["uid"]}},
                            _preload_content=False,
                        )
                    ),
                    until,
                )
            except KubeError as exc:
                if exc.status in (404, 409):  # already gone, or already replaced (UID precondition)
                    return False
                raise
            return True

        results = for_each(info["pods"], delete, params.concurrency, until)
        failed = failures(results)
        if failed:
            raise PluginError(f"k8s.pod_kill: deleting pods in {ns}: {summary(failed, len(results))}")
        return {
            **info,
            "killed": [p["name"] for p, r in results if r is True],
            "gone": [p["name"] for p, r in results if r is False],
            "took_s": round(time.monotonic() - t0, 3),
        }

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        return None  # nothing to undo: the controllers recreate the pods

    def describe(self, info: dict[str, Any]) -> str:
        grace = info.get("grace_period_s")
        how = "default grace period" if grace is None else f"grace period {grace}s"
        return _describe("delete", info) + f" ({how})"


class PodEvictFault(Fault[PodEvictParams]):
    """Evict pods through the eviction API; a PodDisruptionBudget that forbids it fails the fault clearly."""

    Params = PodEvictParams

    def preflight(self, params: PodEvictParams, ctx: Context) -> list[str]:
        from chaoskit_kubernetes.preflight import kube_preflight

        return kube_preflight(self, params, ctx)

    def plan(self, params: PodEvictParams, ctx: Context) -> dict[str, Any]:
        info = _plan(params, ctx, "k8s.pod_evict")
        info["grace_period_s"] = params.grace_period_s
        return info

    def inject(self, params: PodEvictParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        conn = Conn.from_info(info)
        ns = info["namespace"]
        t0 = time.monotonic()
        until = deadline(ctx)
        results = for_each(
            info["pods"],
            lambda pod: evict(conn, ns, pod["name"], pod["uid"], info.get("grace_period_s"), "k8s.pod_evict", until),
            params.concurrency,
            until,
        )
        evicted = [p["name"] for p, r in results if r is True]
        failed = failures(results)
        if failed:
            done = f" (evicted: {', '.join(evicted[:NAMES_SHOWN])}{' ...' if len(evicted) > NAMES_SHOWN else ''})"
            raise PluginError(
                f"k8s.pod_evict: evicting pods in {ns}: {summary(failed, len(results))}" + (done if evicted else "")
            )
        gone = [p["name"] for p, r in results if r is False]
        return {**info, "evicted": evicted, "gone": gone, "took_s": round(time.monotonic() - t0, 3)}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        return None  # nothing to undo: the controllers recreate the pods

    def describe(self, info: dict[str, Any]) -> str:
        return _describe("evict", info) + " (eviction API: PodDisruptionBudgets apply)"


def evict(
    conn: Conn,
    namespace: str,
    name: str,
    uid: str | None,
    grace: int | None,
    what: str,
    deadline: float,
    budget_retry: float | None = None,
) -> bool:
    """Evict one pod. False if it is gone already. A PodDisruptionBudget refusal (429) is retried every
    ``budget_retry`` seconds until ``deadline`` when given; then (or else at once) it raises a PluginError
    naming the pod."""
    options: dict[str, Any] = {"preconditions": {"uid": uid}} if uid else {}
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": namespace},
        "deleteOptions": options,
    }
    call = conn.core().create_namespaced_pod_eviction
    try:
        retrying(
            lambda: read_body(
                conn.call(
                    f"{what}: evicting pod {namespace}/{name}", call, name, namespace, body, _preload_content=False
                )
            ),
            deadline,
            budget_retry,
        )
    except KubeError as exc:
        if exc.status in (404, 409):
            return False
        if exc.budget:
            waited = " (retried until the fault's timeout)" if budget_retry is not None else ""
            raise PluginError(
                f"{what}: eviction of pod {namespace}/{name} was refused by a PodDisruptionBudget (429){waited}: "
                f"{str(exc).split(': ', 2)[-1]}"
            ) from exc
        raise
    return True
