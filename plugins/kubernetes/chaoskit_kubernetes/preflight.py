"""Preflight of the kubernetes faults: the API server answers with the configured credentials, the namespace is
allowed by the ``kubernetes:`` section, and the API says -- through a ``SelfSubjectAccessReview``, which stores
nothing -- that these credentials may do every verb the fault will use.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from chaoskit_kubernetes.connection import Conn
from chaoskit_kubernetes.section import section


class Access(NamedTuple):
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespaced: bool = True

    def text(self, namespace: str | None) -> str:
        what = f"{self.resource}.{self.group}" if self.group else self.resource
        what += f"/{self.subresource}" if self.subresource else ""
        return f"{self.verb} {what}" + (f" in namespace {namespace}" if namespace else " (cluster-wide)")


_PODS_LIST = Access("list", "pods")
_EVICT = Access("create", "pods", subresource="eviction")
NEEDS: dict[str, tuple[Access, ...]] = {
    "PodKillFault": (_PODS_LIST, Access("delete", "pods")),
    "PodEvictFault": (_PODS_LIST, _EVICT),
    "DeploymentScaleFault": (
        Access("get", "deployments", "apps", "scale"),
        Access("patch", "deployments", "apps", "scale"),
    ),
    "RolloutRestartFault": (Access("get", "deployments", "apps"), Access("patch", "deployments", "apps")),
    "NodeCordonFault": (Access("get", "nodes", namespaced=False), Access("patch", "nodes", namespaced=False)),
    "NodeDrainFault": (
        Access("get", "nodes", namespaced=False),
        Access("patch", "nodes", namespaced=False),
        Access("list", "pods", namespaced=False),
        Access("create", "pods", subresource="eviction", namespaced=False),
    ),
    "NetworkPartitionFault": (
        _PODS_LIST,
        Access("create", "networkpolicies", "networking.k8s.io"),
        Access("delete", "networkpolicies", "networking.k8s.io"),
    ),
}
"""The API verbs each fault uses (by its class name), for ``plan``, ``inject`` and ``revert``."""


def kube_preflight(fault: object, params: Any, ctx: Context) -> list[str]:
    """Every problem the fault would meet: credentials, reachability, the namespace guard, and RBAC."""
    sec = section(ctx)
    namespace: str | None = getattr(params, "namespace", None)
    what = getattr(fault, "name", "") or type(fault).__name__
    problems: list[str] = []
    if namespace is not None:
        try:
            sec.allow(namespace, what)
        except PluginError as exc:
            problems.append(str(exc))
    conn = Conn.of(sec, ctx)
    try:
        from kubernetes import client

        conn.call(f"{what}: reaching the API server ({conn.where()})", client.VersionApi(conn.api()).get_code)
    except PluginError as exc:
        return [*problems, str(exc)]
    for access in NEEDS.get(type(fault).__name__, ()):
        where = namespace if access.namespaced else None
        try:
            allowed, reason = _may(conn, access, where)
        except PluginError as exc:
            problems.append(str(exc))
            break
        if not allowed:
            why = f" ({reason})" if reason else ""
            problems.append(f"the credentials ({conn.where()}) may not {access.text(where)}{why}")
    return problems


def _may(conn: Conn, access: Access, namespace: str | None) -> tuple[bool, str]:
    from kubernetes import client

    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                namespace=namespace,
                verb=access.verb,
                group=access.group,
                resource=access.resource,
                subresource=access.subresource or None,
            )
        )
    )
    api = client.AuthorizationV1Api(conn.api())
    result = conn.call(f"asking whether we may {access.text(namespace)}", api.create_self_subject_access_review, review)
    status = result.status
    if status is None:
        return False, "the API server returned no decision"
    return bool(status.allowed), str(status.reason or status.evaluation_error or "")
