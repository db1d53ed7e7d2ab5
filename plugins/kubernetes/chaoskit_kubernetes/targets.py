"""Which pods or nodes a fault touches: selectors or names, a selection mode with a seed, exclusions, limits."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context
from chaoskit_kubernetes.connection import Conn
from chaoskit_kubernetes.listing import list_all
from chaoskit_kubernetes.section import DNS_LABEL, KubernetesSection, section

if TYPE_CHECKING:
    from chaoskit_kubernetes.objects import Item

Mode = Literal["one", "all", "count", "percent"]
EXCLUDE_DEFAULT = {"chaoskit.io/exclude": "true"}


class Selection(StrictModel):
    """What to pick among the objects the selectors match."""

    label_selector: str | None = Field(default=None, description="A label selector, e.g. 'app=web,tier!=db'.")
    field_selector: str | None = Field(default=None, description="A field selector, e.g. 'status.phase=Running'.")
    names: list[str] = Field(default=[], description="Exact names (instead of, or with, selectors).")
    mode: Mode = Field(
        default="one", description="one, all, count (needs count) or percent (needs percent) of the matches."
    )
    count: int | None = Field(default=None, ge=1, description="mode count: how many.")
    percent: float | None = Field(default=None, gt=0, le=100, description="mode percent: share, rounded up.")
    seed: int | None = Field(default=None, description="Seed of the random pick; fixed seed, same targets.")
    exclude_labels: dict[str, str] = Field(
        default_factory=lambda: dict(EXCLUDE_DEFAULT),
        description="Objects carrying any of these labels (key: value) are never picked.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Selection:
        if not (self.label_selector or self.field_selector or self.names):
            raise ValueError("give label_selector, field_selector or names: whole namespaces are never targets")
        if self.mode == "count" and self.count is None:
            raise ValueError("mode count needs `count`")
        if self.mode == "percent" and self.percent is None:
            raise ValueError("mode percent needs `percent`")
        if self.count is not None and self.mode != "count":
            raise ValueError(f"`count` applies to mode count, not to mode {self.mode}")
        if self.percent is not None and self.mode != "percent":
            raise ValueError(f"`percent` applies to mode percent, not to mode {self.mode}")
        return self

    def criteria(self) -> str:
        parts = [f"labels {self.label_selector}"] if self.label_selector else []
        parts += [f"fields {self.field_selector}"] if self.field_selector else []
        parts += [f"names {', '.join(self.names)}"] if self.names else []
        return " and ".join(parts)


class PodSelection(Selection):
    namespace: str = Field(default="default", pattern=DNS_LABEL, description="The pods' namespace.")


@dataclass(frozen=True)
class Obj:
    """The few fields of a listed pod or node that faults use (see :func:`listing.list_all`)."""

    name: str
    namespace: str
    uid: str
    labels: dict[str, str]
    node: str | None  # pods: the node it runs on
    unschedulable: bool  # nodes: cordoned
    stays: bool  # pods a drain leaves alone: DaemonSet and mirror pods, finished or terminating pods


def project(obj: Item) -> Obj:
    meta = obj.metadata
    stays = (
        any(o.kind == "DaemonSet" for o in meta.ownerReferences)
        or "kubernetes.io/config.mirror" in meta.annotations
        or meta.deletionTimestamp is not None
        or obj.status.phase in ("Succeeded", "Failed")
    )
    return Obj(
        name=meta.name,
        namespace=meta.namespace,
        uid=meta.uid,
        labels=meta.labels,
        node=obj.spec.nodeName,
        unschedulable=obj.spec.unschedulable,
        stays=stays,
    )


def live_pod(obj: Item) -> Obj | None:
    """A pod that is not terminating already (terminating pods are never targets)."""
    return None if obj.metadata.deletionTimestamp is not None else project(obj)


def pick(items: list[Obj], sel: Selection, what: str) -> list[Obj]:
    """Apply names, exclusions and the mode to the listed objects (sorted by name, so a seed is reproducible)."""
    found = sorted(items, key=lambda o: o.name)
    if sel.names:
        wanted = set(sel.names)
        found = [o for o in found if o.name in wanted]
    kept = [o for o in found if not any(o.labels.get(k) == v for k, v in sel.exclude_labels.items())]
    if not kept:
        excluded = len(found) - len(kept)
        note = f" ({excluded} excluded by exclude_labels)" if excluded else ""
        raise PluginError(f"{what}: nothing matches {sel.criteria()}{note}")
    if sel.mode == "all":
        k = len(kept)
    elif sel.mode == "one":
        k = 1
    elif sel.mode == "count":
        assert sel.count is not None
        k = min(sel.count, len(kept))
    else:
        assert sel.percent is not None
        k = max(1, math.ceil(len(kept) * sel.percent / 100))
    rng = random.Random(sel.seed) if sel.seed is not None else random.SystemRandom()
    chosen = rng.sample(kept, k)
    return sorted(chosen, key=lambda o: o.name)


def resolve_pods(sel: PodSelection, ctx: Context, what: str) -> tuple[KubernetesSection, Conn, list[Obj]]:
    """The pods a fault targets, after the namespace guard and the max_targets guard."""
    sec = section(ctx)
    sec.allow(sel.namespace, what)
    conn = Conn.of(sec, ctx)
    pods, _ = list_all(
        conn,
        f"{what}: listing pods in {sel.namespace}",
        conn.core().list_namespaced_pod,
        (sel.namespace,),
        {"label_selector": sel.label_selector, "field_selector": sel.field_selector},
        live_pod,
    )
    chosen = pick(pods, sel, f"{what} in namespace {sel.namespace}")
    sec.check_count(len(chosen), what)
    return sec, conn, chosen


def resolve_nodes(sel: Selection, ctx: Context, what: str) -> tuple[KubernetesSection, Conn, list[Obj]]:
    sec = section(ctx)
    conn = Conn.of(sec, ctx)
    nodes, _ = list_all(
        conn,
        f"{what}: listing nodes",
        conn.core().list_node,
        (),
        {"label_selector": sel.label_selector, "field_selector": sel.field_selector},
        project,
    )
    chosen = pick(nodes, sel, what)
    sec.check_count(len(chosen), what)
    return sec, conn, chosen
