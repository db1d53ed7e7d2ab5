"""The ``chaoskit`` console script. For ``chaoskit run`` it takes SIGINT/SIGTERM over before anything heavy is
imported (it lives outside :mod:`chaoskit.cli`, whose package imports click and every command), so a signal at
any instant ends in a journal and exit 130 (or, after the verdict, changes nothing); see :mod:`chaoskit.signals`.
Other commands keep Python's default handling."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        from chaoskit.early import capture_early

        capture_early()
    from chaoskit.cli import main as cli_main

    cli_main()
