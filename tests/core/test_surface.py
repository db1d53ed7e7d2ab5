"""The public surface is explicit, importing is free, plugin names never silently override."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import chaoskit
from chaoskit.entrypoints import distribution
from chaoskit.errors import LedgerError, PluginConflict, PluginNotFound
from chaoskit.ledger import Ledger, LedgerEntry
from chaoskit.registry import Registry

EXPECTED = {
    "Action",
    "ChaosKitError",
    "Check",
    "Context",
    "Expect",
    "Experiment",
    "Fault",
    "Journal",
    "LoadDriver",
    "LoadRun",
    "Loaded",
    "Observation",
    "Outcome",
    "PluginError",
    "Probe",
    "ProbeSpec",
    "RunOptions",
    "Step",
    "ValidationFailed",
    "__version__",
    "load_experiment",
    "run_experiment",
    "validate_document",
}


def test_exported_members() -> None:
    assert set(chaoskit.__all__) == EXPECTED
    for name in chaoskit.__all__:
        assert getattr(chaoskit, name) is not None


def test_import_is_free() -> None:
    code = (
        "import sys, threading; before = threading.active_count(); import chaoskit, chaoskit.cli; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'kubernetes', 'locust', 'gevent', 'opentelemetry', 'requests', 'jsonpath_ng', 'grpc'}); "
        "print(heavy, threading.active_count() - before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[] 0"


def test_same_name_from_two_distributions_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "evil_http-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: evil-http\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[chaoskit.probes]\nhttp = evil:Probe\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginConflict, match="probe plugin name 'http' is registered twice"):
        Registry().load("probe", "http")


def test_distribution_names_match_the_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chaoskit reads a distribution's name from its metadata folder's name, not its metadata file: the same
    name, canonical, for every distribution installed here that registers an entry point, and for a dotted
    name in an .egg-info folder."""
    egg = tmp_path / "Zope.Thing.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: Zope.Thing\nVersion: 1.0\n")
    (egg / "entry_points.txt").write_text("[chaoskit.probes]\nzope-thing = zope_thing:Probe\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = {}
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            seen[dist.name] = distribution(ep)
    assert seen["Zope.Thing"] == "zope-thing"
    assert seen["chaoskit-http"] == "chaoskit-http" and len(seen) > 20
    for metadata_name, name in seen.items():
        assert name == re.sub(r"[-_.]+", "-", metadata_name).lower(), metadata_name


def test_unknown_plugin_lists_installed() -> None:
    with pytest.raises(PluginNotFound, match=r"unknown fault 'nope' \(installed: .*testkit.marker"):
        Registry().load("fault", "nope")


def test_ledger_writes_are_complete_and_corruption_is_reported(tmp_path: Path) -> None:
    ledger = Ledger.create("run1", "title", tmp_path)
    ledger.add(LedgerEntry(id="a", plugin="testkit.marker", name="A", info={"path": "x"}))
    ledger.add(LedgerEntry(id="b", plugin="testkit.marker", name="B", info={"path": "y"}))
    ledger.update("a", state="injected")
    again = Ledger.open(ledger.path)
    assert [e.id for e in again.data.pending()] == ["b", "a"]  # newest first: the revert order
    assert not list(tmp_path.glob(".ledger-*"))  # no temp files left behind
    ledger.update("a", state="reverted")
    ledger.update("b", state="reverted")
    assert ledger.close_if_clean() and not ledger.path.exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(LedgerError, match="is not a chaoskit ledger: Invalid JSON"):
        Ledger.open(broken)


def test_in_process_plugins_load_without_a_prior_scan() -> None:
    from chaoskit_testkit import MarkerFault

    registry = Registry(extra={"fault": {"mine.marker": MarkerFault}})
    assert registry.load("fault", "mine.marker") is MarkerFault
    with pytest.raises(PluginConflict, match="already registered"):
        Registry(extra={"fault": {"testkit.marker": MarkerFault}}).load("fault", "testkit.marker")
