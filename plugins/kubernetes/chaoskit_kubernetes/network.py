"""``k8s.network_partition``: a NetworkPolicy that isolates the selected pods; revert deletes it.

The policy only has an effect where the cluster's CNI enforces NetworkPolicy (Calico, Cilium, ...). chaoskit
creates and deletes the object; a cluster without an enforcing CNI (kindnet without policies, flannel, kwok)
accepts it and changes nothing -- check with a probe that the partition is real.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Literal

from pydantic import Field, field_validator

from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context, Fault
from chaoskit_kubernetes.connection import Conn, KubeError
from chaoskit_kubernetes.section import DNS_LABEL, section

MANAGED_BY = {"app.kubernetes.io/managed-by": "chaoskit"}
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


class PartitionParams(StrictModel):
    namespace: str = Field(default="default", pattern=DNS_LABEL, description="The pods' namespace.")
    selector: dict[str, str] = Field(min_length=1, description="matchLabels of the pods to isolate.")
    direction: Literal["ingress", "egress", "both"] = Field(default="both", description="Which traffic to cut.")
    from_selector: dict[str, str] | None = Field(
        default=None,
        description="Cut only traffic with pods (in the namespace) carrying any of these labels; "
        "default: cut all traffic in the direction.",
    )

    @field_validator("from_selector")
    @classmethod
    def _not_empty(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and not value:
            raise ValueError("from_selector needs at least one label (omit it to cut all traffic)")
        return value


_lock = threading.Lock()
_numbers: dict[str, itertools.count[int]] = {}


def _next(run_id: str) -> int:
    with _lock:
        return next(_numbers.setdefault(run_id, itertools.count(1)))


def policy_spec(params: PartitionParams) -> dict[str, Any]:
    """The NetworkPolicy spec. No rule denies everything; with ``from_selector`` the rule allows every peer
    except pods carrying one of its labels (NetworkPolicy can only allow, so the exclusion is NotIn)."""
    types = {"ingress": ["Ingress"], "egress": ["Egress"], "both": ["Ingress", "Egress"]}[params.direction]
    spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(params.selector)}, "policyTypes": types}
    if params.from_selector is not None:
        peers = [
            {
                "podSelector": {
                    "matchExpressions": [
                        {"key": k, "operator": "NotIn", "values": [v]} for k, v in sorted(params.from_selector.items())
                    ]
                }
            },
            {
                "namespaceSelector": {
                    "matchExpressions": [{"key": NAMESPACE_LABEL, "operator": "NotIn", "values": [params.namespace]}]
                }
            },
            {"ipBlock": {"cidr": "0.0.0.0/0"}},
        ]
        if "Ingress" in types:
            spec["ingress"] = [{"from": peers}]
        if "Egress" in types:
            spec["egress"] = [{"to": peers}]
    return spec


class NetworkPartitionFault(Fault[PartitionParams]):
    """Isolate pods with a NetworkPolicy (ingress, egress or both; optionally only from some pods).
    Needs a CNI that enforces NetworkPolicy to have an effect."""

    Params = PartitionParams

    def preflight(self, params: PartitionParams, ctx: Context) -> list[str]:
        from chaoskit_kubernetes.preflight import kube_preflight

        return kube_preflight(self, params, ctx)

    def plan(self, params: PartitionParams, ctx: Context) -> dict[str, Any]:
        sec = section(ctx)
        sec.allow(params.namespace, "k8s.network_partition")
        conn = Conn.of(sec, ctx)
        selector = ",".join(f"{k}={v}" for k, v in sorted(params.selector.items()))
        pods = conn.call(
            f"k8s.network_partition: listing pods {selector} in {params.namespace}",
            conn.core().list_namespaced_pod,
            params.namespace,
            label_selector=selector,
        )
        sec.check_count(len(pods.items), "k8s.network_partition")
        return {
            "cluster": conn.to_info(),
            "namespace": params.namespace,
            "policy": f"chaoskit-partition-{ctx.run_id}-{_next(ctx.run_id)}"[:63].lower().rstrip("-"),
            "run_id": ctx.run_id,
            "direction": params.direction,
            "pods": sorted(p.metadata.name for p in pods.items),
            "spec": policy_spec(params),
        }

    def inject(self, params: PartitionParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        conn = Conn.from_info(info)
        body = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": info["policy"],
                "namespace": info["namespace"],
                "labels": {**MANAGED_BY, "chaoskit.io/run": str(info["run_id"])[:63]},
            },
            "spec": info["spec"],
        }
        try:
            conn.call(
                f"k8s.network_partition: creating NetworkPolicy {info['namespace']}/{info['policy']}",
                conn.networking().create_namespaced_network_policy,
                info["namespace"],
                body,
            )
        except KubeError as exc:
            if exc.status != 409:  # already there: an earlier, cut-short inject of this very fault
                raise
        return None

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        conn = Conn.from_info(info)
        try:
            conn.call(
                f"k8s.network_partition: deleting NetworkPolicy {info['namespace']}/{info['policy']}",
                conn.networking().delete_namespaced_network_policy,
                info["policy"],
                info["namespace"],
            )
        except KubeError as exc:
            if exc.status != 404:
                raise

    def describe(self, info: dict[str, Any]) -> str:
        sel = ",".join(f"{k}={v}" for k, v in sorted(info["spec"]["podSelector"]["matchLabels"].items()))
        return (
            f"NetworkPolicy {info['namespace']}/{info['policy']} cutting {info['direction']} traffic of pods {sel} "
            f"({len(info['pods'])} now: {', '.join(info['pods']) or 'none'}); enforced only by a NetworkPolicy CNI"
        )
