"""The user guide cannot drift: its generated pages match the models, every experiment snippet validates (loader
and JSON Schema), every `chaoskit` command parses with the real CLI (a few run for real), every code snippet is
the tested file it shows, every relative link resolves."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import click
import pytest
import yaml
from jsonschema import Draft202012Validator

from chaoskit import docgen
from chaoskit.cli import cli
from chaoskit.loader import validate_document
from chaoskit.schema import experiment_schema
from tests.conftest import CHAOSKIT, ROOT

DOCS = ROOT / "docs"
GUIDES = sorted(DOCS.glob("*.md"))
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for guide in GUIDES:
        for lang, body in BLOCK.findall(guide.read_text(encoding="utf-8")):
            if lang == language:
                found.append((f"{guide.name}:{body.splitlines()[0][:40] if body else ''}", body))
    return found


def test_the_guides_exist() -> None:
    names = {p.name for p in GUIDES}
    for wanted in ("README.md", "getting-started.md", "experiment-reference.md", "plugins.md", "outcomes.md",
                   "safety.md", "writing-a-plugin.md", "game-days.md", "ci.md", "pytest.md", "tracing.md",
                   "troubleshooting.md"):  # fmt: skip
        assert wanted in names


def test_the_generated_pages_match_the_models() -> None:
    for name, text in (("experiment-reference.md", docgen.experiment_reference()),
                       ("plugins.md", docgen.plugins_reference())):  # fmt: skip
        stale = f"docs/{name} is stale: python -m chaoskit.docgen docs/"
        assert (DOCS / name).read_text(encoding="utf-8") == text, stale


def test_every_plugin_of_the_repo_is_in_the_plugin_reference() -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    for name in ("toxiproxy.latency", "host.kill", "k8s.pod_kill", "http", "tcp", "load.error_rate", "locust"):
        assert f"### `{name}`" in text
    assert "testkit." not in text and "toxiproxy.proxies" not in text


def test_every_type_named_in_a_table_has_its_own_table() -> None:
    # a row of type "list of ProxySpec" is no help unless ProxySpec's keys (name, listen, upstream...) are shown too
    plain = {"str", "int", "number", "bool", "any", "duration", "regex", "map", "list", "of", "to", "one", "1"}
    for name in ("experiment-reference.md", "plugins.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        rows = [line.split(" | ")[1] for line in text.splitlines() if line.startswith("| `")]
        named = {word for cell in rows for word in re.findall(r"\b[A-Z][A-Za-z]+\b", cell.split('"')[0])}
        documented = set(re.findall(r"\(([A-Z][A-Za-z]+)\)$", text, re.M))
        core = {"Experiment", "SteadyState", "ProbeSpec", "Expect", "Check", "Step", "Recovery", "Safety"}
        core.add("TracingSpec")
        assert named - plain - documented - core == set(), name


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(experiment_schema())


@pytest.mark.parametrize(("where", "body"), _blocks("yaml"), ids=[w for w, _ in _blocks("yaml")])
def test_yaml_snippets_parse_and_experiments_validate(where: str, body: str, validator: Draft202012Validator) -> None:
    doc = yaml.safe_load(body)
    assert isinstance(doc, dict)
    if "example.slow_endpoint" in body:  # the example plugin is installed only in its own environment:
        example = ROOT / "examples" / "plugin-example" / "experiment.yaml"  # test_plugin_example.py runs this file
        assert body.strip() == example.read_text().strip()
    elif "method" in doc:  # an experiment: the loader and the schema both accept it
        validate_document(doc, source=where)
        assert [e.message for e in validator.iter_errors(doc)] == []


@pytest.mark.parametrize(("where", "body"), _blocks("toml"), ids=[w for w, _ in _blocks("toml")])
def test_toml_snippets_parse(where: str, body: str) -> None:
    assert tomllib.loads(body)


@pytest.mark.parametrize(("where", "body"), _blocks("python"), ids=[w for w, _ in _blocks("python")])
def test_python_snippets_are_tested_files(where: str, body: str) -> None:
    compile(body, where, "exec")
    sources = [p for p in (ROOT / "examples").rglob("*.py") if body.strip() in p.read_text(encoding="utf-8")]
    assert sources, f"{where}: this snippet is not (part of) a file under examples/ that the tests run"


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for where, body in _blocks("bash"):
        for line in body.splitlines():
            words = shlex.split(line, comments=True)
            for stop in ("|", ">", "&&", "&"):
                if stop in words:
                    words = words[: words.index(stop)]
            if words:
                found.append((where, words))
    return found


@pytest.mark.parametrize(("where", "words"), _commands(), ids=[" ".join(w)[:60] for _, w in _commands()])
def test_commands_parse(where: str, words: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    program, args = words[0], words[1:]
    if program == "chaoskit":
        ctx = cli.make_context("chaoskit", list(args[:1]))
        command = cli.get_command(ctx, args[0])
        assert command is not None, f"{where}: no command chaoskit {args[0]}"
        try:
            command.make_context(args[0], list(args[1:]), parent=ctx)
        except click.BadParameter as exc:  # a path the guide's reader has and this repo does not (gameday/)
            assert "does not exist" in str(exc), f"{where}: {' '.join(words)}: {exc}"
    elif program in ("./scripts/demo", "./scripts/test", "source"):
        assert (ROOT / (args[0] if program == "source" else program)).exists()
    elif program in ("pip", "python", "pytest"):
        paths = [a for a in args if "/" in a and not a.startswith(("http", "base_url"))]
        assert all((ROOT / p).exists() for p in paths), f"{where}: {' '.join(words)}"
    elif "/" in program:  # a script of this repository (or of its virtualenv)
        assert (ROOT / program).exists(), f"{where}: no {program}"
    else:  # another tool (python3.12, curl...): its repository paths, if any, must exist
        paths = [a for a in args if a.startswith(("scripts/", "examples/", "tests/", "docs/", "experiments/"))]
        assert all((ROOT / p).exists() for p in paths), f"{where}: {' '.join(words)}"


def test_some_guide_commands_run_for_real(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CHAOSKIT, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)

    assert run("validate", "examples/quickstart/slow-health.yaml").returncode == 0
    assert "toxiproxy.latency" in run("list", "--kind", "fault").stdout
    schema_file = tmp_path / "chaoskit.schema.json"
    assert run("schema", "-o", str(schema_file)).returncode == 0
    Draft202012Validator.check_schema(json.loads(schema_file.read_text()))
    assert run("run", "--bogus", "x").returncode == 64  # troubleshooting.md: command-line mistakes


def test_getting_started_shows_the_real_quickstart_experiment() -> None:
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert (ROOT / "examples" / "quickstart" / "slow-health.yaml").read_text().strip() in text
    text = (DOCS / "pytest.md").read_text(encoding="utf-8")
    assert (ROOT / "examples" / "service-repo" / "tests" / "catalog-hangs.chaos.yaml").read_text().strip() in text


@pytest.mark.parametrize("guide", [*GUIDES, ROOT / "README.md"], ids=lambda p: p.name)
def test_relative_links_resolve(guide: Path) -> None:
    for target, _anchor in LINK.findall(guide.read_text(encoding="utf-8")):
        if not target.startswith(("http://", "https://", "mailto:")):
            assert (guide.parent / target).exists(), f"{guide.name}: broken link {target}"
