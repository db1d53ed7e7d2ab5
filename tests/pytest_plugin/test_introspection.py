"""What test tools do to loaded modules never imports chaoskit's engine, and importing chaoskit changes nothing.

freezegun's ``freeze_time`` calls ``getattr(module, name)`` for every name in ``dir(module)`` of every loaded
module; ``inspect.getmembers``, ``copy`` and ``pickle`` probe attributes too. Lazy names must not fire."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

WALK = """
import copy, inspect, json, pickle, sys
import pytest
import chaoskit.pytest_plugin
before = set(sys.modules)
for _ in range(2):
    for name, module in list(sys.modules.items()):
        if not name.startswith("chaoskit"):
            continue
        for attr in dir(module):  # freezegun's walk
            getattr(module, attr)
        inspect.getmembers(module)
        for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
            try:
                attempt(module)
            except TypeError:  # "cannot pickle 'module' object", after probing the attributes
                pass
        for probe in ("__wrapped__", "__path__", "_pytestfixturefunction", "__test__", "__deepcopy__"):
            getattr(module, probe, None)
print(json.dumps({"added": sorted(set(sys.modules) - before), "dir": dir(chaoskit)}))
"""


def _run(code: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen: dict[str, Any] = json.loads(out.stdout)
    return seen


def test_walking_loaded_modules_imports_nothing() -> None:
    seen = _run(WALK)
    assert seen["added"] == []
    assert "run_experiment" not in seen["dir"] and "Experiment" not in seen["dir"]


def test_explicit_use_still_loads_the_public_names() -> None:
    code = (
        "import chaoskit, chaoskit.pytest_plugin as p\n"
        "from chaoskit import Experiment\n"
        "assert chaoskit.run_experiment.__module__ == 'chaoskit.runner'\n"
        "assert p.ChaosResult.__module__ == 'chaoskit.pytest_plugin.result'\n"
        "assert 'Experiment' in dir(chaoskit)\n"
        "ns = {}\n"
        "exec('from chaoskit import *', ns)\n"
        "assert set(chaoskit.__all__) <= set(ns)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


SIDE_EFFECTS = """
import json, logging, os, pkgutil, signal, sys, threading, warnings, importlib
UNCATCHABLE = (signal.SIGKILL, signal.SIGSTOP)
def state():
    return {
        "threads": sorted(t.name for t in threading.enumerate()),
        "signals": {str(s): repr(signal.getsignal(s)) for s in signal.valid_signals() if s not in UNCATCHABLE},
        "environ": sorted(os.environ.items()),
        "trace": repr((sys.gettrace(), sys.getprofile(), sys.excepthook, threading.excepthook)),
        "logging": repr((logging.root.handlers, logging.root.level)),
        "warnings": len(warnings.filters),
    }
before = state()
import chaoskit
names = [m.name for m in pkgutil.walk_packages(chaoskit.__path__, "chaoskit.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
after = state()
import chaoskit.timeouts
print(json.dumps({"same": before == after, "diff": {k: (before[k], after[k]) for k in before if before[k] != after[k]},
                  "fork_handler": chaoskit.timeouts._WORKERS.fork_safe, "modules": len(names)}))
"""


def test_importing_every_module_has_no_side_effects() -> None:
    seen = _run(SIDE_EFFECTS)
    assert seen["modules"] > 30
    assert seen["same"], seen["diff"]
    assert seen["fork_handler"] is False  # registered when the first plugin call runs, not at import


def test_the_fork_handler_comes_with_the_first_call() -> None:
    code = (
        "import os\n"
        "from chaoskit.timeouts import _WORKERS, call_with_timeout\n"
        "assert call_with_timeout(lambda: 7, 5, 'x') == 7 and _WORKERS.fork_safe\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if call_with_timeout(lambda: 8, 5, 'y') == 8 and not _WORKERS.idle[1:] else 1)\n"
        "assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
