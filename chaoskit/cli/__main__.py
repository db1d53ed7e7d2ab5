"""``python -m chaoskit.cli``: the same as the ``chaoskit`` command."""

from chaoskit.cli import main

main()
