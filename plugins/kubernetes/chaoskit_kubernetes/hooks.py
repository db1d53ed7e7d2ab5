"""Run-start warm-up: when an experiment uses a Kubernetes plugin, import the client before the first probe.

The official client costs seconds on its first use (importing ``kubernetes.client`` and its API modules,
~2-5 s on a busy 2-core machine). Paying that inside the first probe would eat its timeout, so the hook pays
it at run start, outside every activity's timeout. Experiments without Kubernetes plugins import nothing.
At run end the pod probes' background watches stop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoskit.hooks import hookimpl

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal

PLUGIN_KEYS = ("probe", "fault", "action")


def uses_kubernetes(doc: Any) -> bool:
    """True if the experiment document names a ``k8s.*`` plugin or has a ``kubernetes:`` block."""
    if isinstance(doc, dict):
        if any(isinstance(doc.get(k), str) and doc[k].startswith("k8s.") for k in PLUGIN_KEYS):
            return True
        return any(uses_kubernetes(v) for v in doc.values())
    if isinstance(doc, list):
        return any(uses_kubernetes(v) for v in doc)
    return False


def warm_up() -> None:
    from kubernetes import client, config, watch

    for api in (client.CoreV1Api, client.AppsV1Api, client.NetworkingV1Api, client.PolicyV1Api):
        api(client.ApiClient())
    del config, watch


class Hooks:
    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        doc = journal.experiment
        if (isinstance(doc, dict) and "kubernetes" in doc) or uses_kubernetes(doc):
            warm_up()

    @hookimpl
    def chaoskit_run_finished(self, journal: Journal) -> None:
        from chaoskit_kubernetes.podview import close_views  # the pod probes' watches end with the run

        close_views()


hooks = Hooks()
