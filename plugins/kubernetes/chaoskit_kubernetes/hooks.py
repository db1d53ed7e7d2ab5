"""Run-start warm-up: when an experiment uses a Kubernetes plugin, pay the first-use costs before the first probe.

- The official client costs seconds on its first use (importing ``kubernetes.client`` and its API modules,
  ~2-5 s on a busy 2-core machine). The hook imports it at run start, outside every activity's timeout.
- The pod probes (``k8s.pods_ready``, ``k8s.no_crashloop``, ``k8s.restarts``) read a view that starts with a
  list of every matching pod (3-10 s at 5,000 pods, see ``bench/k8s_scale.py``). The hook starts the view of
  each pod probe in the experiment now, so that list is outside the probe's timeout as well and the first
  observation reads counters like every later one. A view that cannot start here is left to the probe, which
  reports the reason under its own timeout; after the first failure the hook tries no more (the cluster is
  probably unreachable, and each try costs up to ``request_timeout``).

Experiments without Kubernetes plugins import nothing. Dry runs list nothing. At run end the views stop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaoskit.hooks import hookimpl

if TYPE_CHECKING:
    from chaoskit.model.journal import Journal

PLUGIN_KEYS = ("probe", "fault", "action")
POD_PROBES = ("k8s.pods_ready", "k8s.no_crashloop", "k8s.restarts")  # the probes that read a PodView


def uses_kubernetes(doc: Any) -> bool:
    """True if the experiment document names a ``k8s.*`` plugin or has a ``kubernetes:`` block."""
    if isinstance(doc, dict):
        if any(isinstance(doc.get(k), str) and doc[k].startswith("k8s.") for k in PLUGIN_KEYS):
            return True
        return any(uses_kubernetes(v) for v in doc.values())
    if isinstance(doc, list):
        return any(uses_kubernetes(v) for v in doc)
    return False


def pod_probes(doc: Any) -> Iterator[dict[str, Any]]:
    """The ``with:`` blocks of the pod probes anywhere in the experiment document."""
    if isinstance(doc, dict):
        if doc.get("probe") in POD_PROBES:
            yield doc.get("with") or {}
        for value in doc.values():
            yield from pod_probes(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from pod_probes(value)


def warm_up() -> None:
    from kubernetes import client, config, watch

    for api in (client.CoreV1Api, client.AppsV1Api, client.NetworkingV1Api, client.PolicyV1Api):
        api(client.ApiClient())
    del config, watch


def start_views(journal: Journal) -> int:
    """Start the view of every pod probe of the run's experiment; return how many are running."""
    from chaoskit.plugin import Context
    from chaoskit_kubernetes.connection import Conn
    from chaoskit_kubernetes.podview import pod_view
    from chaoskit_kubernetes.probes import PodsParams
    from chaoskit_kubernetes.section import KubernetesSection

    doc = journal.experiment
    work_dir = Path(journal.source).resolve().parent if journal.source else Path.cwd()
    started = 0
    try:
        sec = KubernetesSection.model_validate(doc.get("kubernetes") or {})
        conn = Conn.of(sec, Context(work_dir=work_dir, sections={"kubernetes": sec}))
        for raw in pod_probes(doc):
            keys = {k: raw[k] for k in ("namespace", "label_selector", "field_selector") if k in raw}
            p = PodsParams.model_validate(keys)
            pod_view(conn, p.namespace, p.label_selector, p.field_selector, "starting the pod view")
            started += 1
    except Exception:  # the probe meets the same problem and reports it under its own timeout (see above)
        pass
    return started


class Hooks:
    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        doc = journal.experiment
        if (isinstance(doc, dict) and "kubernetes" in doc) or uses_kubernetes(doc):
            warm_up()
            if not journal.dry_run:
                start_views(journal)

    @hookimpl
    def chaoskit_run_finished(self, journal: Journal) -> None:
        from chaoskit_kubernetes.podview import close_views  # the pod probes' watches end with the run

        close_views()


hooks = Hooks()
