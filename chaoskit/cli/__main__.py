"""``python -m chaoskit.cli``: the same as the ``chaoskit`` command."""

from chaoskit.cli import main

if __name__ == "__main__":  # importing this module (pkgutil.walk_packages, introspection) must not run the CLI
    main()
