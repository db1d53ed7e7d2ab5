"""``chaosk8s`` (chaostoolkit-kubernetes) calls on chaoskit's kubernetes plugin.

======================================================  ==============================================
chaosk8s                                                chaoskit
======================================================  ==============================================
pod.actions.terminate_pods                              fault ``k8s.pod_kill`` (nothing to revert)
deployment.actions.scale_deployment                     fault ``k8s.deployment_scale``; scaling the same
                                                        deployment back to its original replicas (the
                                                        usual rollback) reverts that ledger entry
node.actions.cordon_node / drain_nodes                  faults ``k8s.node_cordon`` / ``k8s.node_drain``
node.actions.uncordon_node                              reverts the cordon/drain of those nodes
pod.probes.pods_in_phase (phase Running), count_pods    probe ``k8s.pods_ready``
deployment.probes.deployment_available_and_healthy,     probe ``k8s.deployment_available``
deployment_fully_available
======================================================  ==============================================

Differences, on purpose or by necessity: cluster access comes from the kubeconfig (chaoskit's ``kubernetes``
section defaults; the ``k8s`` secrets of CTK are not read); the namespace a call names is the one it may touch;
``terminate_pods`` picks pods at random (CTK: alphabetically unless ``rand``) and has no ``name_pattern``;
``pods_in_phase`` with phase Running counts Ready pods (the plugin observes readiness, not the phase);
``count_pods`` with a phase other than Running is not mapped; ``drain_nodes`` evicts pods of the default
namespace only (chaoskit's blast radius) and ``uncordon_node`` only undoes what this run cordoned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoskit.ctk.extensions import ExtensionError, Handler

if TYPE_CHECKING:
    from chaoskit.ctk.extensions import Extensions


def _ctx(ext: Extensions, ns: str | None = None) -> Any:
    value: dict[str, Any] = {"namespaces": [ns]} if ns else {}
    return ext.context({"kubernetes": ext.section("kubernetes", value)})


def pod_selection(
    label_selector: str | None, name_pattern: str | None, all: bool, mode: str, qty: int
) -> dict[str, Any]:
    """chaosk8s's pod choice as chaoskit's selection parameters."""
    if name_pattern:
        raise ExtensionError("name_pattern has no chaoskit equivalent; select the pods with label_selector")
    if not label_selector:
        raise ExtensionError("give a label_selector (chaoskit never targets a whole namespace)")
    params: dict[str, Any] = {"label_selector": label_selector}
    if all:
        params["mode"] = "all"
    elif mode == "percentage":
        params.update(mode="percent", percent=qty)
    elif mode == "fixed":
        params.update(mode="one") if qty == 1 else params.update(mode="count", count=qty)
    else:
        raise ExtensionError(f"mode {mode!r} is not fixed or percentage")
    return params


def terminate_pods(
    ext: Extensions,
    label_selector: str | None = None,
    name_pattern: str | None = None,
    all: bool = False,
    rand: bool = False,
    mode: str = "fixed",
    qty: int = 1,
    grace_period: int = -1,
    ns: str = "default",
    order: str = "alphabetic",
) -> list[str]:
    params = pod_selection(label_selector, name_pattern, all, mode, qty) | {"namespace": ns}
    if grace_period >= 0:
        params["grace_period_s"] = grace_period
    info = ext.inject("k8s.pod_kill", params, _ctx(ext, ns), ("pods", ns), f"terminate pods {label_selector} in {ns}")
    return list(info.get("killed", []))


def scale_deployment(ext: Extensions, name: str, replicas: int, ns: str = "default") -> None:
    item = ext.find(("deployment", ns, name))
    if item is not None and item.record.revert_info.get("original_replicas") == replicas:
        ext.revert(item)  # the experiment scales it back: that is the revert of our fault
        return
    params = {"namespace": ns, "name": name, "replicas": replicas}
    ext.inject("k8s.deployment_scale", params, _ctx(ext, ns), ("deployment", ns, name), f"scale {ns}/{name}")


def _nodes(name: str | None, label_selector: str | None, count: int | None = None) -> dict[str, Any]:
    if not (name or label_selector):
        raise ExtensionError("give a node name or a label_selector")
    params: dict[str, Any] = {"names": [name]} if name else {"label_selector": label_selector}
    params.update({"mode": "count", "count": count} if count else {"mode": "all"})
    return params


def cordon_node(ext: Extensions, name: str | None = None, label_selector: str | None = None) -> list[str]:
    info = ext.inject(
        "k8s.node_cordon",
        _nodes(name, label_selector),
        _ctx(ext),
        ("nodes", name or label_selector or ""),
        f"cordon {name or label_selector}",
    )
    return [n["name"] for n in info.get("nodes", [])]


def drain_nodes(
    ext: Extensions,
    name: str | None = None,
    label_selector: str | None = None,
    delete_pods_with_local_storage: bool = False,
    timeout: int = 120,
    count: int | None = None,
    pod_label_selector: str | None = None,
    pod_namespace: str | None = None,
) -> list[str]:
    if pod_label_selector or pod_namespace:
        raise ExtensionError(
            "pod_label_selector/pod_namespace (choosing nodes by their pods) has no chaoskit equivalent"
        )
    info = ext.inject(
        "k8s.node_drain",
        _nodes(name, label_selector, count),
        _ctx(ext),
        ("nodes", name or label_selector or ""),
        f"drain {name or label_selector}",
    )
    return [n["name"] for n in info.get("nodes", [])]


def uncordon_node(ext: Extensions, name: str | None = None, label_selector: str | None = None) -> list[str]:
    done: list[str] = []
    while (item := ext.find(("nodes", name or label_selector or ""))) is not None:
        ext.revert(item)
        done += [n["name"] for n in item.record.revert_info.get("nodes", [])]
    return done


def _observe(ext: Extensions, probe: str, params: dict[str, Any], ns: str) -> Any:
    from chaoskit.plugin import Probe

    plugin = ext.registry.instance("probe", probe)
    assert isinstance(plugin, Probe)
    return plugin.observe(plugin.Params.model_validate(params), _ctx(ext, ns))


def pods_in_phase(
    ext: Extensions,
    label_selector: str,
    phase: str = "Running",
    ns: str = "default",
    raise_on_invalid_phase: bool = True,
) -> bool:
    if phase != "Running":
        raise ExtensionError(f"pods_in_phase is mapped for phase Running only (not {phase!r})")
    obs = _observe(ext, "k8s.pods_ready", {"namespace": ns, "label_selector": label_selector, "min_ready": 0}, ns)
    ok = bool(obs.details["total"]) and not obs.details["not_ready"]
    if not ok and raise_on_invalid_phase:
        raise ExtensionError(f"pods {label_selector} in {ns}: not all Running/Ready ({obs.details['not_ready']})")
    return ok


def count_pods(ext: Extensions, label_selector: str, phase: str | None = None, ns: str = "default") -> int:
    if phase not in (None, "Running"):
        raise ExtensionError(f"count_pods is mapped for no phase or phase Running (not {phase!r})")
    obs = _observe(ext, "k8s.pods_ready", {"namespace": ns, "label_selector": label_selector, "min_ready": 0}, ns)
    return int(obs.details["total"] if phase is None else obs.value)


def _deployment(ext: Extensions, name: str, ns: str, wait: float, raise_on_failure: bool, what: str) -> bool:
    obs = _observe(ext, "k8s.deployment_available", {"namespace": ns, "name": name, "wait": wait}, ns)
    # chaosk8s: healthy when status.availableReplicas equals spec.replicas; Kubernetes omits a zero count, so a
    # deployment scaled to 0 is not healthy there either
    desired = obs.details.get("desired") or 0
    ok = bool(obs.details.get("exists")) and desired > 0 and obs.value == desired
    if not ok and raise_on_failure:
        raise ExtensionError(f"deployment {ns}/{name} is not {what} ({obs.value} of {obs.details.get('desired')})")
    return ok


def deployment_available_and_healthy(
    ext: Extensions,
    name: str,
    ns: str = "default",
    label_selector: str | None = None,
    raise_on_unavailable: bool = True,
) -> bool:
    return _deployment(ext, name, ns, 0.0, raise_on_unavailable, "available and healthy")


def deployment_fully_available(
    ext: Extensions,
    name: str,
    ns: str = "default",
    label_selector: str | None = None,
    timeout: int = 30,
    raise_on_not_fully_available: bool = True,
) -> bool:
    return _deployment(ext, name, ns, float(timeout), raise_on_not_fully_available, "fully available")


HANDLERS: dict[str, Handler] = {
    "chaosk8s.pod.actions.terminate_pods": terminate_pods,
    "chaosk8s.deployment.actions.scale_deployment": scale_deployment,
    "chaosk8s.node.actions.cordon_node": cordon_node,
    "chaosk8s.node.actions.uncordon_node": uncordon_node,
    "chaosk8s.node.actions.drain_nodes": drain_nodes,
    "chaosk8s.pod.probes.pods_in_phase": pods_in_phase,
    "chaosk8s.pod.probes.count_pods": count_pods,
    "chaosk8s.deployment.probes.deployment_available_and_healthy": deployment_available_and_healthy,
    "chaosk8s.deployment.probes.deployment_fully_available": deployment_fully_available,
}
