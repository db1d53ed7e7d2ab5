"""What every command shares: the lazy consoles, path expansion, ``--var`` parsing, printing problems."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

if TYPE_CHECKING:  # imported where used: `chaoskit --help` stays fast (no pydantic, YAML or rich)
    from rich.console import Console

    from chaoskit.errors import ValidationFailed


_CONTROL = dict.fromkeys((7, 8, 11, 12, 13))  # the control codes rich's Text leaves out (bell, backspace, CR...)


def _terminal(stream: Any) -> bool:
    """Would rich treat ``stream`` as a terminal (colours, live countdowns)?"""
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class _LazyConsole:
    """A rich Console built on first use, so `chaoskit --help` does not import rich. When the stream is not a
    terminal, lines of markup are printed without rich at all (:func:`chaoskit.markup.plain`: the same text
    rich would print there); anything else (tables, status) goes through rich."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _stream(self) -> Any:
        return sys.stderr if self._stderr else sys.stdout

    def _rich(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, soft_wrap=True)
        return self._console

    @property
    def is_terminal(self) -> bool:
        return self._rich().is_terminal if self._console is not None else _terminal(self._stream())

    def print(self, *objects: Any, highlight: bool | None = None, end: str = "\n") -> None:
        stream = self._stream()
        if self._console is None and all(isinstance(o, str) for o in objects) and not _terminal(stream):
            from chaoskit.markup import plain

            text = " ".join(plain(o) for o in objects).translate(_CONTROL).expandtabs(8)  # as rich's Text does
            stream.write(text + end)
            stream.flush()
            return
        self._rich().print(*objects, highlight=highlight, end=end)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rich(), name)


def escape(text: str) -> str:
    """Text that markup shows as it is (``rich.markup.escape``'s rules, without importing rich)."""
    from chaoskit.markup import escape as markup_escape

    return markup_escape(text)


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
