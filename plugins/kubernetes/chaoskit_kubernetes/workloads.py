"""Deployment faults: scale (revert restores the original replicas) and rollout restart."""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context, Fault
from chaoskit_kubernetes.connection import Conn, KubeError
from chaoskit_kubernetes.section import DNS_LABEL, section

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class DeploymentParams(StrictModel):
    namespace: str = Field(default="default", pattern=DNS_LABEL, description="The deployment's namespace.")
    name: str = Field(min_length=1, description="The deployment's name.")


class ScaleParams(DeploymentParams):
    replicas: int = Field(ge=0, description="Scale to this many replicas while the fault holds.")


def _target(params: DeploymentParams, ctx: Context, what: str) -> tuple[Conn, Any]:
    sec = section(ctx)
    sec.allow(params.namespace, what)
    conn = Conn.of(sec, ctx)
    scale = conn.call(
        f"{what}: reading deployment {params.namespace}/{params.name}",
        conn.apps().read_namespaced_deployment_scale,
        params.name,
        params.namespace,
    )
    return conn, scale


class DeploymentScaleFault(Fault[ScaleParams]):
    """Scale a Deployment (e.g. down to 0); the revert restores the replicas it had before."""

    Params = ScaleParams

    def preflight(self, params: ScaleParams, ctx: Context) -> list[str]:
        from chaoskit_kubernetes.preflight import kube_preflight

        return kube_preflight(self, params, ctx)

    def plan(self, params: ScaleParams, ctx: Context) -> dict[str, Any]:
        conn, scale = _target(params, ctx, "k8s.deployment_scale")
        return {
            "cluster": conn.to_info(),
            "namespace": params.namespace,
            "deployment": params.name,
            "original_replicas": int(scale.spec.replicas or 0),
            "replicas": params.replicas,
        }

    def inject(self, params: ScaleParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        _scale(Conn.from_info(info), info, info["replicas"])
        return None

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        try:
            _scale(Conn.from_info(info), info, info["original_replicas"])
        except KubeError as exc:
            if exc.status != 404:  # the deployment is gone: nothing left to restore
                raise

    def describe(self, info: dict[str, Any]) -> str:
        return (
            f"scale deployment {info['namespace']}/{info['deployment']} from {info['original_replicas']} "
            f"to {info['replicas']} replicas (revert: back to {info['original_replicas']})"
        )


def _scale(conn: Conn, info: dict[str, Any], replicas: int) -> None:
    conn.call(
        f"scaling deployment {info['namespace']}/{info['deployment']} to {replicas}",
        conn.apps().patch_namespaced_deployment_scale,
        info["deployment"],
        info["namespace"],
        {"spec": {"replicas": replicas}},
    )


class RolloutRestartFault(Fault[DeploymentParams]):
    """Restart a Deployment's pods with a rolling update (like `kubectl rollout restart`); nothing to revert."""

    Params = DeploymentParams

    def preflight(self, params: DeploymentParams, ctx: Context) -> list[str]:
        from chaoskit_kubernetes.preflight import kube_preflight

        return kube_preflight(self, params, ctx)

    def plan(self, params: DeploymentParams, ctx: Context) -> dict[str, Any]:
        conn, scale = _target(params, ctx, "k8s.rollout_restart")
        return {
            "cluster": conn.to_info(),
            "namespace": params.namespace,
            "deployment": params.name,
            "replicas": int(scale.spec.replicas or 0),
        }

    def inject(self, params: DeploymentParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        conn = Conn.from_info(info)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        conn.call(
            f"k8s.rollout_restart: patching deployment {info['namespace']}/{info['deployment']}",
            conn.apps().patch_namespaced_deployment,
            info["deployment"],
            info["namespace"],
            patch,
        )
        return {**info, "restarted_at": stamp}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        return None  # a restart cannot be undone; the rollout itself is the fault

    def describe(self, info: dict[str, Any]) -> str:
        return (
            f"rollout restart of deployment {info['namespace']}/{info['deployment']} "
            f"({info['replicas']} replicas; nothing to revert)"
        )
