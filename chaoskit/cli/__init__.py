"""The ``chaoskit`` command line: one module per command, registered on the group below.

A command module imports only click at the top; everything heavy (pydantic, YAML, rich, the runner) is imported
inside the command, so ``chaoskit --help`` stays fast. A command's module is imported only when that command runs
(or when ``--help`` lists them all). To add a command: write ``chaoskit/cli/<name>.py`` with a ``@click.command``
and add it to ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import click

from chaoskit import __version__
from chaoskit.cli.console import err, escape, print_invalid
from chaoskit.errors import ChaosKitError, ValidationFailed

EXIT_USAGE = 64
EXIT_INTERRUPTED = 130


COMMANDS: dict[str, str] = {
    "run": "run:run",
    "validate": "validate:validate",
    "report": "report:report",
    "list": "plugins:list_plugins",
    "schema": "plugins:schema",
    "rollback": "rollback:rollback",
    "halt": "halt:halt",
    "init": "plugins:init",
    "import": "ctk:import_ctk",
    "compare": "compare:compare",
    "baseline": "compare:baseline",
    "history": "compare:history",
    "gameday": "gameday:gameday",
}
"""Each command's name and where it is defined (``chaoskit/cli/<module>.py``, the function's name)."""


class _Commands(click.Group):
    """The commands, each imported from its module when it is first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, name = where.split(":")
        command = getattr(importlib.import_module(f"chaoskit.cli.{module}"), name)
        assert isinstance(command, click.Command) and command.name == cmd_name, where
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="chaoskit")
def cli() -> None:
    """chaoskit: chaos experiments with a steady-state hypothesis, faults that are always reverted,
    load-aware verdicts and OpenTelemetry traces.

    \b
    Start here:
      chaoskit init my-experiment.yaml     # scaffold an experiment
      chaoskit validate my-experiment.yaml # check it (every problem, with its path and line)
      chaoskit run my-experiment.yaml      # run it; the journal is written under chaoskit-runs/
      chaoskit list                        # installed faults, probes and load drivers
    """


def main(argv: list[str] | None = None) -> NoReturn:
    from chaoskit.redaction import guard_streams

    guard_streams()  # secrets never reach the terminal (chaoskit/redaction.py)
    try:
        cli.main(args=argv, prog_name="chaoskit", standalone_mode=False)
    except click.UsageError as exc:
        if type(exc).__name__.startswith("NoArgsIsHelp"):  # `chaoskit` alone: show help, exit 0
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(0)
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except ValidationFailed as exc:
        print_invalid(exc)
        sys.exit(exc.exit_code)
    except ChaosKitError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)
