"""Kubernetes probes. Those with a ``wait`` parameter watch (bounded) until their condition holds, so a
recovery check sees the recovery when the API server reports it; ``details.waited_s`` says how long it took.

The pod probes read an incremental view (:mod:`chaoskit_kubernetes.podview`): counters kept by a watch, so an
observation costs the same at any number of pods and records counts plus a few names, never every pod."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from pydantic import Field

from chaoskit.durations import Duration
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Context, Probe
from chaoskit_kubernetes.connection import Conn
from chaoskit_kubernetes.podview import PodView, pod_view
from chaoskit_kubernetes.section import DNS_LABEL, section
from chaoskit_kubernetes.watching import observe_until

WAIT_HELP = "Watch up to this long until the condition holds (0: observe once). Keep it below the probe timeout."


class PodsParams(StrictModel):
    namespace: str = Field(default="default", pattern=DNS_LABEL)
    label_selector: str | None = Field(default=None, description="Label selector of the pods.")
    field_selector: str | None = Field(default=None, description="Field selector of the pods.")


class PodsReadyParams(PodsParams):
    min_ready: int = Field(default=1, ge=0, description="With wait: watch until at least this many are Ready.")
    wait: Duration = Field(default=0.0, ge=0, description=WAIT_HELP)


class WaitPodsParams(PodsParams):
    wait: Duration = Field(default=0.0, ge=0, description=WAIT_HELP)


class DeploymentAvailableParams(StrictModel):
    namespace: str = Field(default="default", pattern=DNS_LABEL)
    name: str = Field(min_length=1, description="The deployment.")
    min_available: int | None = Field(
        default=None, ge=0, description="With wait: watch until this many are available (default: spec.replicas)."
    )
    wait: Duration = Field(default=0.0, ge=0, description=WAIT_HELP)


class NodeReadyParams(StrictModel):
    names: list[str] = Field(default=[], description="Node names (default: every node).")
    label_selector: str | None = Field(default=None, description="Label selector of the nodes.")
    wait: Duration = Field(default=0.0, ge=0, description=WAIT_HELP)


def _conn(ctx: Context) -> Conn:
    return Conn.of(section(ctx), ctx)


def _view(conn: Conn, p: PodsParams, what: str) -> PodView:
    return pod_view(conn, p.namespace, p.label_selector, p.field_selector, what)


def _waited(view: PodView, pred: Callable[[PodView], bool], wait: float, start: float) -> tuple[bool, float]:
    """Wait (up to ``wait``) until ``pred`` holds; return whether it did and ``waited_s``: 0.0 if it held at
    once, else the seconds from the observation's start to the arrival of the event that made it hold (the
    whole wait when it never did)."""
    called = time.monotonic()
    took = view.wait_for(pred, wait)
    if took is None:
        return False, round(time.monotonic() - start, 3) if wait > 0 else 0.0
    return True, 0.0 if took == 0.0 else math.floor((took + called - start) * 1000) / 1000  # ms, never later


class PodsReadyProbe(Probe[PodsReadyParams]):
    """Number of Ready pods matching the selectors; details: total, ready, not_ready (count and up to 10
    names), min_ready_met, waited_s."""

    Params = PodsReadyParams

    def observe(self, params: PodsReadyParams, ctx: Context) -> Observation:
        what = f"k8s.pods_ready in {params.namespace}"
        start = time.monotonic()
        view = _view(_conn(ctx), params, what)
        _, waited = _waited(view, lambda v: v.ready >= params.min_ready, params.wait, start)
        snap = view.snapshot(what)
        details = {key: snap[key] for key in ("total", "ready", "not_ready", "not_ready_pods")}
        ok = snap["ready"] >= params.min_ready
        return Observation(snap["ready"], {**details, "min_ready_met": ok, "waited_s": waited})


class DeploymentAvailableProbe(Probe[DeploymentAvailableParams]):
    """A Deployment's available replicas; details: desired, ready, updated, waited_s."""

    Params = DeploymentAvailableParams

    def observe(self, params: DeploymentAvailableParams, ctx: Context) -> Observation:
        conn = _conn(ctx)
        what = f"k8s.deployment_available {params.namespace}/{params.name}"

        def judge(items: list[Any]) -> tuple[Any, bool]:
            if not items:
                return {"exists": False, "available": 0, "desired": None}, False
            d = items[0]
            desired = int(d.spec.replicas if d.spec.replicas is not None else 1)
            st = d.status
            res = {
                "exists": True,
                "available": int(st.available_replicas or 0),
                "ready": int(st.ready_replicas or 0),
                "updated": int(st.updated_replicas or 0),
                "desired": desired,
            }
            target = params.min_available if params.min_available is not None else desired
            return res, res["available"] >= target

        res, _, waited = observe_until(
            conn,
            what,
            conn.apps().list_namespaced_deployment,
            (params.namespace,),
            {"field_selector": f"metadata.name={params.name}"},
            judge,
            params.wait,
        )
        return Observation(res["available"], {**res, "waited_s": waited})


class RestartsProbe(Probe[PodsParams]):
    """Total container restarts of the matching pods; details: the pods that restarted most (up to 10)."""

    Params = PodsParams

    def observe(self, params: PodsParams, ctx: Context) -> Observation:
        what = f"k8s.restarts in {params.namespace}"
        snap = _view(_conn(ctx), params, what).snapshot(what)
        return Observation(snap["restarts"], {"total": snap["total"], "pods": snap["restarts_by_pod"]})


class NoCrashLoopProbe(Probe[WaitPodsParams]):
    """True when no matching pod has a container in CrashLoopBackOff; details: how many and (up to 10) which."""

    Params = WaitPodsParams

    def observe(self, params: WaitPodsParams, ctx: Context) -> Observation:
        what = f"k8s.no_crashloop in {params.namespace}"
        start = time.monotonic()
        view = _view(_conn(ctx), params, what)
        _, waited = _waited(view, lambda v: v.crashlooping == 0, params.wait, start)
        snap = view.snapshot(what)
        ok = snap["crashlooping"] == 0
        details = {"total": snap["total"], "crashlooping": snap["crashlooping_pods"], "count": snap["crashlooping"]}
        return Observation(ok, {**details, "waited_s": waited})


class NodeReadyProbe(Probe[NodeReadyParams]):
    """True when every selected node is Ready (and there is one); details: ready, not_ready, unschedulable."""

    Params = NodeReadyParams

    def observe(self, params: NodeReadyParams, ctx: Context) -> Observation:
        conn = _conn(ctx)
        wanted = set(params.names)

        def judge(nodes: list[Any]) -> tuple[Any, bool]:
            nodes = [n for n in nodes if not wanted or n.metadata.name in wanted]
            ready = sorted(n.metadata.name for n in nodes if _node_ready(n))
            res = {
                "ready": ready,
                "not_ready": sorted(n.metadata.name for n in nodes if not _node_ready(n)),
                "unschedulable": sorted(n.metadata.name for n in nodes if n.spec.unschedulable),
                "missing": sorted(wanted - {n.metadata.name for n in nodes}),
            }
            return res, bool(ready) and not res["not_ready"] and not res["missing"]

        res, ok, waited = observe_until(
            conn,
            "k8s.node_ready",
            conn.core().list_node,
            (),
            {"label_selector": params.label_selector},
            judge,
            params.wait,
        )
        return Observation(ok, {**res, "waited_s": waited})


def _node_ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))
