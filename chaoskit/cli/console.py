"""What every command shares: the lazy consoles, path expansion, ``--var`` parsing, printing problems."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

if TYPE_CHECKING:  # imported where used: `chaoskit --help` stays fast (no pydantic, YAML or rich)
    from rich.console import Console

    from chaoskit.errors import ValidationFailed


class _LazyConsole:
    """A rich Console built on first use, so `chaoskit --help` does not import rich."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, soft_wrap=True)
        return getattr(self._console, name)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


err = cast("Console", _LazyConsole(stderr=True))
out = cast("Console", _LazyConsole(stderr=False))


def expand_paths(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given, and the experiment files (*.yaml, *.yml, *.json) of each folder, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
            if not found:
                raise click.UsageError(f"{path}: no experiment files (*.yaml, *.yml, *.json) in this folder")
            files.extend(found)
        else:
            files.append(path)
    return files


def parse_vars(values: tuple[str, ...]) -> dict[str, Any]:
    """``--var NAME=VALUE`` options as a mapping (a malformed one is a usage error)."""
    from chaoskit.config import parse_var

    out_vars: dict[str, Any] = {}
    for text in values:
        try:
            name, value = parse_var(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--var") from None
        out_vars[name] = value
    return out_vars


def print_invalid(exc: ValidationFailed) -> None:
    err.print(f"[bold red]✗ {escape(exc.source or 'experiment')}[/] {exc.verdict}:", highlight=False)
    for problem in exc.problems:
        err.print(f"  - {escape(str(problem))}", highlight=False)
