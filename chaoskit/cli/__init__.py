"""The ``chaoskit`` command line: one module per command, registered on the group below.

A command module imports only click at the top; everything heavy (pydantic, YAML, rich, the runner) is imported
inside the command, so ``chaoskit --help`` stays fast. To add a command: write ``chaoskit/cli/<name>.py`` with a
``@click.command`` and add it to ``COMMANDS``.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from chaoskit import __version__
from chaoskit.cli.compare import baseline, compare, history
from chaoskit.cli.console import err, escape, print_invalid
from chaoskit.cli.ctk import import_ctk
from chaoskit.cli.gameday import gameday
from chaoskit.cli.halt import halt
from chaoskit.cli.plugins import init, list_plugins, schema
from chaoskit.cli.report import report
from chaoskit.cli.rollback import rollback
from chaoskit.cli.run import run
from chaoskit.cli.validate import validate
from chaoskit.errors import ChaosKitError, ValidationFailed

EXIT_USAGE = 64
EXIT_INTERRUPTED = 130


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


COMMANDS: list[click.Command] = [
    run,
    validate,
    report,
    list_plugins,
    schema,
    rollback,
    halt,
    init,
    import_ctk,
    compare,
    baseline,
    history,
    gameday,
]
for _command in COMMANDS:
    cli.add_command(_command)


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
