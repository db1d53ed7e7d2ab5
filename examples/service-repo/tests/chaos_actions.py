"""Fault helpers the experiments call through chaoskit's ``python`` action.

Freezing a process with SIGSTOP makes it accept connections but never answer: a hung dependency.
The experiments thaw it in ``rollbacks``, which the runner runs on every way out of a run. (With the
chaoskit-host plugin installed, its ``host.pause`` fault does the same with a revert ledger.)
"""

from __future__ import annotations

import os
import signal


def freeze(pid: int) -> str:
    os.kill(int(pid), signal.SIGSTOP)
    return f"froze {pid}"


def thaw(pid: int) -> str:
    os.kill(int(pid), signal.SIGCONT)
    return f"thawed {pid}"
