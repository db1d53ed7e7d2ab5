"""Which Python runs the Locust children: this environment's, or one of Locust's own.

The runner never imports locust, so Locust need not live in the environment that runs chaoskit (nor in a
service repo's test environment, where ``locust`` brings a pytest plugin of its own with ``--host`` and the
fixtures ``session``/``fastsession``). Two ways to provide it:

* ``pip install 'chaoskit-locust[locust]'``: Locust in this environment; the children run ``sys.executable``.
* ``CHAOSKIT_LOCUST_PYTHON=/path/to/python``: an interpreter of an environment that has Locust (e.g. one made
  by ``uv venv`` + ``uv pip install locust==2.47.0``). The child then imports exactly the
  ``chaoskit_locust`` package from here (by its folder, nothing else of this environment) and Locust from
  there; the child needs only the standard library and Locust.

The variable wins when both are there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from chaoskit.errors import PluginError

ENV = "CHAOSKIT_LOCUST_PYTHON"
LOCUST = "locust==2.47.0"  # the version the child is written and tested against (the extra's pin)

# Run in a foreign interpreter: load the chaoskit_locust package from its folder, then run the child as -m does.
_BOOT = (
    "import importlib.util as u, runpy, sys\n"
    "spec = u.spec_from_file_location('chaoskit_locust', sys.argv[1], submodule_search_locations=[sys.argv[2]])\n"
    "module = u.module_from_spec(spec)\n"
    "sys.modules['chaoskit_locust'] = module\n"
    "spec.loader.exec_module(module)\n"
    "del sys.argv[1:3]\n"
    "runpy.run_module('chaoskit_locust.child', run_name='__main__', alter_sys=True)\n"
)


def child_command() -> list[str]:
    """The command line of a Locust child; a :class:`PluginError` that says how to get Locust when it is missing."""
    chosen = os.environ.get(ENV, "").strip()
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            raise PluginError(
                f"{ENV}={chosen!r}: no such executable; point it at the python of an environment with {LOCUST}"
            )
        package = Path(__file__).resolve().parent
        return [found, "-c", _BOOT, str(package / "__init__.py"), str(package)]
    if importlib.util.find_spec("locust") is None:
        raise PluginError(
            f"the locust load driver needs Locust, which is not installed in this environment ({sys.executable}): "
            f"install it with the plugin (pip install 'chaoskit-locust[locust]'), or keep it in an environment of "
            f"its own and set {ENV} to that environment's python (see the chaoskit-locust README)"
        )
    return [sys.executable, "-m", "chaoskit_locust.child"]
