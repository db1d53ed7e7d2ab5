"""``chaoskit list``, ``chaoskit schema`` and ``chaoskit init``: what is installed, and how to write an experiment."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chaoskit.cli.console import err, escape, out


@click.command("list", epilog="\b\nExamples:\n  chaoskit list\n  chaoskit list --kind fault --json")
@click.option("--kind", type=click.Choice(["probe", "action", "fault", "load", "section"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Everything as JSON, with each plugin's parameter schema.")
def list_plugins(kind: str | None, as_json: bool) -> None:
    """List installed plugins (faults, probes, actions, load drivers, sections) and their parameters."""
    from chaoskit.catalog import describe_plugins

    described = describe_plugins(kind)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps(described, indent=2))
        return
    for item in described:
        out.print(
            f"[bold]{item['kind']:<7}[/] [cyan]{escape(item['name'])}[/]  {escape(item['summary'])} "
            f"[dim]({escape(item['distribution'])})[/]",
            highlight=False,
        )
        for param in item["params"]:
            default = param.get("default")
            if isinstance(default, list | dict):
                default = json.dumps(default)
            default = f" = {default}" if "default" in param else " (required)" if param["required"] else " (optional)"
            out.print(
                f"          {escape(param['name'])}: {escape(param['type'])}{escape(default)}"
                + (f"  [dim]{escape(param['description'])}[/]" if param["description"] else ""),
                highlight=False,
            )
        if "error" in item:
            out.print(f"          [red]{escape(item['error'])}[/]")


@click.command(
    epilog="\b\nExamples:\n  chaoskit schema > chaoskit.schema.json\n"
    '  # VS Code: "yaml.schemas": {"chaoskit.schema.json": "experiments/*.yaml"}'
)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Write to a file.")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of the experiment format (for editors)."""
    from chaoskit.catalog import experiment_schema

    text = json.dumps(experiment_schema(), indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        print(text)


@click.command(epilog="\b\nExamples:\n  chaoskit init my-api.yaml --url http://127.0.0.1:8080/health")
@click.argument("path", type=click.Path(path_type=Path), default=Path("experiment.yaml"))
@click.option("--url", default="http://127.0.0.1:8080/health", show_default=True, help="The endpoint to probe.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, url: str, force: bool) -> None:
    """Scaffold an experiment file to edit."""
    from chaoskit.catalog import scaffold

    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to overwrite it")
    path.write_text(scaffold(url), encoding="utf-8")
    err.print(f"wrote {path}; next: chaoskit validate {path} && chaoskit run {path} --dry-run")
