"""The plugin without a cluster: cheap imports, validation messages, seeded target selection."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from chaoskit_kubernetes.network import PartitionParams, policy_spec
from chaoskit_kubernetes.section import KubernetesSection
from chaoskit_kubernetes.targets import PodSelection, Selection, pick
from pydantic import ValidationError

from chaoskit.errors import PluginError

ENTRY_MODULES = ["section", "pods", "workloads", "nodes", "network", "probes", "hooks"]


def test_importing_every_entry_point_does_not_import_the_kubernetes_client() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {ENTRY_MODULES!r}: importlib.import_module('chaoskit_kubernetes.' + m)\n"
        "from importlib.metadata import entry_points\n"
        "for group in ('chaoskit.faults', 'chaoskit.probes', 'chaoskit.sections', 'chaoskit.hooks'):\n"
        "    [ep.load() for ep in entry_points(group=group) if ep.value.startswith('chaoskit_kubernetes')]\n"
        "bad = sorted(m for m in sys.modules if m == 'kubernetes' or m.startswith('kubernetes.'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def pods(*names: str, labels: dict[str, dict[str, str]] | None = None) -> list[Any]:
    return [SimpleNamespace(metadata=SimpleNamespace(name=n, labels=(labels or {}).get(n, {}))) for n in names]


def names(items: list[Any]) -> list[str]:
    return [i.metadata.name for i in items]


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
