"""The plugin without a cluster: cheap imports, validation messages, seeded target selection."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
from chaoskit_kubernetes.network import PartitionParams, policy_spec
from chaoskit_kubernetes.objects import Item, Meta
from chaoskit_kubernetes.section import KubernetesSection
from chaoskit_kubernetes.targets import Obj, PodSelection, Selection, pick, project
from pydantic import ValidationError

from chaoskit.errors import PluginError

ENTRY_MODULES = ["section", "pods", "workloads", "nodes", "network", "probes", "hooks", "podview", "bulk", "listing"]


def test_importing_every_entry_point_does_not_import_the_kubernetes_client_or_msgspec() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {ENTRY_MODULES!r}: importlib.import_module('chaoskit_kubernetes.' + m)\n"
        "from importlib.metadata import entry_points\n"
        "for group in ('chaoskit.faults', 'chaoskit.probes', 'chaoskit.sections', 'chaoskit.hooks'):\n"
        "    [ep.load() for ep in entry_points(group=group) if ep.value.startswith('chaoskit_kubernetes')]\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'msgspec'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def pods(*names: str, labels: dict[str, dict[str, str]] | None = None) -> list[Obj]:
    return [project(Item(metadata=Meta(name=n, labels=(labels or {}).get(n, {})))) for n in names]


def names(items: list[Obj]) -> list[str]:
    return [i.name for i in items]


def test_modes_and_a_fixed_seed() -> None:
    items = pods(*(f"p{i}" for i in range(10)))
    one = PodSelection(label_selector="app=x", seed=5)
    assert names(pick(items, one, "t")) == names(pick(list(reversed(items)), one, "t")), "order does not matter"
    assert len(pick(items, PodSelection(label_selector="a", mode="all"), "t")) == 10
    assert len(pick(items, PodSelection(label_selector="a", mode="count", count=3, seed=1), "t")) == 3
    assert len(pick(items, PodSelection(label_selector="a", mode="count", count=30), "t")) == 10
    assert len(pick(items, PodSelection(label_selector="a", mode="percent", percent=25), "t")) == 3  # rounded up
    seeds = {tuple(names(pick(items, PodSelection(label_selector="a", seed=s), "t"))) for s in range(20)}
    assert len(seeds) > 1, "the seed changes the pick"


def test_names_and_exclusion_labels() -> None:
    items = pods("a", "b", "c", labels={"b": {"chaoskit.io/exclude": "true"}, "c": {"tier": "db"}})
    assert names(pick(items, PodSelection(names=["a", "b"], mode="all"), "t")) == ["a"]
    sel = PodSelection(label_selector="x", mode="all", exclude_labels={"tier": "db"})
    assert names(pick(items, sel, "t")) == ["a", "b"]
    with pytest.raises(PluginError, match=r"nothing matches names b \(1 excluded by exclude_labels\)"):
        pick(items, PodSelection(names=["b"]), "k8s.pod_kill")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "whole namespaces are never targets"),
        ({"label_selector": "a", "mode": "count"}, "mode count needs `count`"),
        ({"label_selector": "a", "mode": "percent"}, "mode percent needs `percent`"),
        ({"label_selector": "a", "count": 2}, "`count` applies to mode count"),
        ({"label_selector": "a", "mode": "percent", "percent": 150}, "less than or equal to 100"),
    ],
)
def test_selection_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Selection(**kwargs)


def test_section_rules() -> None:
    sec = KubernetesSection()
    assert sec.namespaces == ["default"]
    with pytest.raises(PluginError, match="kube-system is only allowed when listed explicitly"):
        sec.allow("kube-system", "k8s.pod_kill")
    KubernetesSection(namespaces=["kube-system"]).allow("kube-system", "k8s.pod_kill")
    with pytest.raises(ValidationError, match="not a namespace name"):
        KubernetesSection(namespaces=["Bad_Name"])
    with pytest.raises(ValidationError, match="in_cluster uses the service account"):
        KubernetesSection(in_cluster=True, kubeconfig="/x")


def test_partition_from_a_selector_allows_every_other_peer() -> None:
    spec = policy_spec(
        PartitionParams(namespace="shop", selector={"app": "db"}, direction="egress", from_selector={"role": "x"})
    )
    assert spec["policyTypes"] == ["Egress"] and "ingress" not in spec
    peers = spec["egress"][0]["to"]
    assert peers[0] == {"podSelector": {"matchExpressions": [{"key": "role", "operator": "NotIn", "values": ["x"]}]}}
    assert peers[1]["namespaceSelector"]["matchExpressions"][0]["values"] == ["shop"]


def _pod(name: str, ready: bool, restarts: int = 0, crash: bool = False, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {})}
    state = {"waiting": {"reason": "CrashLoopBackOff"}} if crash else {"running": {}}
    return {
        "metadata": meta,
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"restartCount": restarts, "state": state}],
        },
    }


def _feed(view: Any, event: dict[str, Any], stamp: float) -> None:
    """One watch event as the API server sends it (a JSON line), through the same decoding as the watch."""
    from chaoskit_kubernetes import objects

    view._apply(*objects.event(json.dumps(event).encode(), "test"), stamp)


def test_an_answer_of_the_wrong_shape_is_a_plugin_error_naming_what() -> None:
    from chaoskit_kubernetes import objects

    with pytest.raises(PluginError, match=r"^listing pods in ns: the API server's answer is not a list"):
        objects.page(b"<html>502 Bad Gateway</html>", "listing pods in ns")
    bad = json.dumps({"type": "MODIFIED", "object": {"status": {"containerStatuses": [{"restartCount": "x"}]}}})
    with pytest.raises(PluginError, match=r"^watching pods: the API server sent a watch event .*restartCount"):
        objects.event(bad.encode(), "watching pods")


def test_view_counters_follow_each_event_in_place() -> None:
    from chaoskit_kubernetes.connection import Conn
    from chaoskit_kubernetes.podview import PodView

    view = PodView(Conn(None, None, True, 1.0), "ns", "app=x", None)
    view._live = True
    events = [("ADDED", _pod(f"p{i}", ready=True)) for i in range(30)]
    events += [("MODIFIED", _pod("p3", ready=False, deleting=True)), ("DELETED", _pod("p3", ready=False))]
    events += [("MODIFIED", _pod("p4", ready=False, restarts=2, crash=True)), ("BOOKMARK", {"metadata": {}})]
    events += [("ADDED", _pod(f"q{i}", ready=False)) for i in range(12)]
    for i, (kind, obj) in enumerate(events):
        obj["metadata"]["resourceVersion"] = str(100 + i)
        _feed(view, {"type": kind, "object": obj}, float(i))
    snap = view.snapshot("t")
    assert (snap["total"], snap["ready"], snap["not_ready"], snap["crashlooping"], snap["restarts"]) == (
        41,
        28,
        13,
        1,
        2,
    )
    assert snap["not_ready_pods"] == sorted(["p4", *(f"q{i}" for i in range(12))])[:10]
    assert snap["crashlooping_pods"] == ["p4"] and snap["restarts_by_pod"] == {"p4": 2}
    assert view._version == str(100 + len(events) - 1), "every event, bookmarks too, moves the resume point"
    _feed(
        view, {"type": "MODIFIED", "object": {**_pod("p4", ready=True, restarts=2), "metadata": {"name": "p4"}}}, 99.0
    )
    assert view.snapshot("t")["crashlooping"] == 0 and view.ready == 29


def test_a_waiter_gets_the_time_of_the_event_that_met_its_condition() -> None:
    import threading

    from chaoskit_kubernetes.connection import Conn
    from chaoskit_kubernetes.podview import PodView

    view = PodView(Conn(None, None, True, 1.0), "ns", None, None)
    view._live = True
    got: list[float | None] = []
    base = time.monotonic()
    waiter = threading.Thread(target=lambda: got.append(view.wait_for(lambda v: v.ready >= 3, 10)))
    waiter.start()
    while not view._waiters:
        time.sleep(0.01)
    for i in range(4):  # arrival times 1, 2, 3, 4 s after base
        _feed(view, {"type": "ADDED", "object": _pod(f"p{i}", ready=True)}, base + 1 + i)
    waiter.join(5)
    took = got[0]
    assert took is not None and 2.5 < took <= 3.0, "the arrival of the third Ready pod, not when the waiter woke"
    assert view.wait_for(lambda v: v.ready >= 3, 10) == 0.0, "held already: no wait"
    assert view.wait_for(lambda v: v.ready >= 9, 0) is None


def test_a_step_timeout_too_short_for_the_targets_is_refused_at_plan() -> None:
    from chaoskit_kubernetes.bulk import check_time

    from chaoskit.plugin import Context

    check_time(Context(timeout=30), "k8s.pod_kill", 500, 16)  # 32 rounds of 0.1 s: fits
    with pytest.raises(
        PluginError, match=r"k8s.pod_kill: 5000 API calls at concurrency 4 need about 125s.*at least 157s"
    ):
        check_time(Context(timeout=30), "k8s.pod_kill", 5000, 4)
    with pytest.raises(PluginError, match=r"its timeout \(40s\) must be below the step's timeout \(30s\)"):
        check_time(Context(timeout=30), "k8s.node_drain", 2, 16, own=40)
    check_time(Context(), "k8s.pod_kill", 10**6, 1)  # no step timeout known (a direct call): nothing to check
