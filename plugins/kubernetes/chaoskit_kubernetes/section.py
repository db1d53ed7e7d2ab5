"""The ``kubernetes:`` top-level block: how to reach the cluster and how far a run may reach into it.

Importing this module does not import the ``kubernetes`` client (it costs ~0.7 s or more): the client is
imported by :mod:`chaoskit_kubernetes.connection` when a Kubernetes plugin first talks to the cluster.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class KubernetesSection(StrictModel):
    """``kubernetes:`` -- cluster access (kubeconfig or in-cluster service account) and the blast radius."""

    kubeconfig: str | None = Field(
        default=None,
        description="Path of the kubeconfig file (relative: to the experiment file). Default: $KUBECONFIG "
        "(its first entry), else ~/.kube/config.",
    )
    context: str | None = Field(default=None, description="The kubeconfig context; default: its current-context.")
    in_cluster: bool = Field(
        default=False,
        description="Use the pod's service account (token and CA under /var/run/secrets/kubernetes.io/"
        "serviceaccount, API server from $KUBERNETES_SERVICE_HOST/PORT) instead of a kubeconfig.",
    )
    namespaces: list[str] = Field(
        default_factory=lambda: ["default"],
        min_length=1,
        description="The namespaces the run may touch; anything else is refused. kube-system only if listed.",
    )
    max_targets: int = Field(
        default=10, ge=1, description="A fault that resolves to more targets (pods, nodes) than this is refused."
    )
    request_timeout: Duration = Field(default=10.0, gt=0, description="Timeout of each call to the API server.")

    @field_validator("namespaces")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        import re

        bad = [v for v in values if not re.match(DNS_LABEL, v) or len(v) > 63]
        if bad:
            raise ValueError(f"not a namespace name: {', '.join(map(repr, bad))}")
        return values

    @model_validator(mode="after")
    def _auth(self) -> KubernetesSection:
        if self.in_cluster and (self.kubeconfig or self.context):
            raise ValueError("in_cluster uses the service account: do not set kubeconfig or context with it")
        return self

    def allow(self, namespace: str, what: str) -> None:
        """Refuse ``namespace`` unless it is in the allowlist (the run's blast radius)."""
        if namespace not in self.namespaces:
            extra = " (kube-system is only allowed when listed explicitly)" if namespace == "kube-system" else ""
            raise PluginError(
                f"{what}: namespace {namespace!r} is outside the allowed namespaces "
                f"{self.namespaces} (kubernetes.namespaces){extra}; refusing to touch it"
            )

    def check_count(self, count: int, what: str) -> None:
        if count > self.max_targets:
            raise PluginError(
                f"{what}: {count} targets exceed kubernetes.max_targets ({self.max_targets}); "
                "narrow the selector or the mode, or raise max_targets"
            )


def section(ctx: Context) -> KubernetesSection:
    return ctx.section("kubernetes", KubernetesSection)
