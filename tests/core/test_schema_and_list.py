"""`chaoskit schema` validates what chaoskit validates (checked with a real JSON Schema validator, the `jsonschema`
package), and `chaoskit list` speaks in types a user writes."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from chaoskit.errors import ValidationFailed
from chaoskit.loader import validate_document
from tests.conftest import CHAOSKIT

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    [
        *ROOT.glob("experiments/*.yaml"),
        *ROOT.glob("examples/shop/experiments/*.yaml"),
        *ROOT.glob("examples/quickstart/*.yaml"),
        *ROOT.glob("examples/**/*.chaos.yaml"),
    ]
)


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    out = subprocess.run([CHAOSKIT, "schema"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    schema = json.loads(out.stdout)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator: Draft202012Validator, doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def test_there_are_shipped_experiments() -> None:
    assert len(SHIPPED) >= 14


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_experiment_is_valid_under_the_schema(validator: Draft202012Validator, path: Path) -> None:
    assert _errors(validator, yaml.safe_load(path.read_text())) == []


def _latency_doc() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "experiments" / "dependency-latency.yaml").read_text())


def _mutations() -> list[tuple[str, Any]]:
    def typo_in_with(doc: dict[str, Any]) -> None:
        doc["method"][0]["with"]["latncy_ms"] = 100

    def wrong_type_in_with(doc: dict[str, Any]) -> None:
        doc["method"][0]["with"]["jitter_ms"] = -5

    def unknown_fault(doc: dict[str, Any]) -> None:
        doc["method"][0]["fault"] = "toxiproxy.latancy"

    def unknown_top_level_key(doc: dict[str, Any]) -> None:
        doc["recovery_within"] = "30s"

    def typo_in_a_section(doc: dict[str, Any]) -> None:
        doc["toxiproxy"]["ulr"] = "http://127.0.0.1:8474"

    def bad_duration(doc: dict[str, Any]) -> None:
        doc["method"][0]["duration"] = "30 seconds"

    def bad_probe_param(doc: dict[str, Any]) -> None:
        doc["steady_state"]["probes"][0]["with"]["timout"] = "2s"

    def bad_load_param(doc: dict[str, Any]) -> None:
        doc["load"] = {"driver": "locust", "locustfile": "x.py", "usrs": 3}

    return [(f.__name__, f) for f in (typo_in_with, wrong_type_in_with, unknown_fault, unknown_top_level_key,
                                      typo_in_a_section, bad_duration, bad_probe_param, bad_load_param)]  # fmt: skip


@pytest.mark.parametrize(("name", "mutate"), _mutations(), ids=[n for n, _ in _mutations()])
def test_the_schema_and_the_loader_both_reject(validator: Draft202012Validator, name: str, mutate: Any) -> None:
    doc = _latency_doc()
    mutate(doc)
    assert _errors(validator, doc), f"the schema accepted {name}"
    with pytest.raises(ValidationFailed):
        validate_document(copy.deepcopy(doc), source="mutated.yaml")


def test_durations_and_references_are_accepted_where_the_loader_accepts_them(validator: Draft202012Validator) -> None:
    doc = _latency_doc()
    doc["method"][0]["duration"] = "1m30s"
    doc["method"][0]["with"]["latency_ms"] = "${latency_ms}"
    doc["recovery"] = {"within": 45, "interval": "250ms"}
    doc["load"] = {"locustfile": "locustfile.py", "users": "${users}", "spawn_rate": 5}
    doc["configuration"]["users"] = 3
    assert _errors(validator, doc) == []


def _list(*args: str) -> str:
    out = subprocess.run([CHAOSKIT, "list", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_list_shows_readable_types_defaults_and_units() -> None:
    text = _list("--kind", "fault")
    for internal in ("Annotated", "AfterValidator", "<function", "Optional[", "Literal["):
        assert internal not in text
    assert "toxiproxy.proxies" not in text  # internal: the toxiproxy: section's fault
    lines = {line.split(":")[0].strip(): line for line in text.splitlines() if line.startswith("          ")}
    assert "cmdline: regex (optional)" in lines["cmdline"]
    assert "wait: duration 0..1m = 5s" in lines["wait"]
    assert "latency_ms: int ≥ 0 (required)" in lines["latency_ms"]
    assert 'stream: one of "upstream", "downstream", "both" = downstream' in lines["stream"]


def test_list_json_has_rows_and_each_plugin_schema() -> None:
    described = json.loads(_list("--json"))
    kill = next(item for item in described if item["name"] == "host.kill")
    wait = next(row for row in kill["params"] if row["name"] == "wait")
    assert wait == {
        "name": "wait",
        "type": "duration 0..1m",
        "required": False,
        "description": "How long to wait for the processes to exit.",
        "default": "5s",
    }
    assert kill["schema"]["additionalProperties"] is False
    assert not [item for item in described if item["name"] == "toxiproxy.proxies"]
