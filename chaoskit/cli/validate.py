"""``chaoskit validate``: check experiment files, every problem at once with its path and line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from chaoskit.cli.console import err, escape, expand_paths, parse_vars, print_invalid
from chaoskit.cli.ctk import CtkFlags, is_ctk_file, validate_ctk
from chaoskit.errors import ValidationFailed


@click.command(epilog="\b\nExamples:\n  chaoskit validate exp.yaml\n  chaoskit validate experiments/ --json")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a configuration value.")
@click.option(
    "--var-file",
    "var_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Chaos Toolkit files: configuration/secrets (JSON/YAML) or a .env file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print problems as JSON on stdout.")
@click.option(
    "--preflight",
    is_flag=True,
    help="Also ask each plugin, without side effects, what the run would need (files, servers, targets, "
    "permissions); a problem there exits 6.",
)
def validate(
    paths: tuple[Path, ...], variables: tuple[str, ...], var_files: tuple[Path, ...], as_json: bool, preflight: bool
) -> None:
    """Check experiment files: the core format and every plugin's parameters (Chaos Toolkit files: CTK's
    format and what CTK checks before a run). Exit 5 when invalid."""
    from chaoskit.loader import load_experiment

    files = expand_paths(paths)
    ctk_files = {path for path in files if is_ctk_file(path)}
    if var_files and len(ctk_files) < len(files):
        raise click.UsageError("--var-file: only for Chaos Toolkit experiments")
    overrides = parse_vars(variables) if len(ctk_files) < len(files) else {}
    report: list[dict[str, Any]] = []
    for path in files:
        try:
            if path in ctk_files:
                validate_ctk(path, CtkFlags(variables=variables, var_files=var_files), quiet=as_json)
            else:
                loaded = load_experiment(path, overrides)
                if preflight:
                    from chaoskit.preflight import preflight as check

                    check(loaded)
        except ValidationFailed as exc:
            if not as_json:
                print_invalid(exc)
            report.append(
                {
                    "file": str(path),
                    "valid": False,
                    "exit_code": exc.exit_code,
                    "problems": [{"path": p.path, "line": p.line, "message": p.message} for p in exc.problems],
                }
            )
        else:
            if not as_json:
                ready = " and passed preflight" if preflight and path not in ctk_files else ""
                err.print(f"[green]✓[/] {escape(str(path))} is valid{ready}", highlight=False)
            report.append({"file": str(path), "valid": True, "exit_code": 0, "problems": []})
    if as_json:
        print(json.dumps(report, indent=2))
    codes = {r["exit_code"] for r in report}
    sys.exit(ValidationFailed.exit_code if ValidationFailed.exit_code in codes else max(codes))
