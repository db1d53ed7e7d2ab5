"""A stress worker: ``python -m chaoskit_host.worker cpu|memory --parent PID --max-seconds S --token T ...``.

Standard library only, and it imports nothing from chaoskit, so it starts fast. It stops by itself:

* when its parent (the chaoskit process) is gone -- checked every 100 ms through ``getppid()``;
* after ``--max-seconds`` whatever happens (the hard lifetime cap);
* on SIGTERM/SIGKILL (what a revert sends).

``prctl(PR_SET_PDEATHSIG)`` is not used: it fires when the *thread* that forked the child exits, and
chaoskit injects faults from short-lived worker threads, so the stress would end as soon as it began.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

_SLICE_S = 0.1


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def cpu(parent: int, deadline: float, load_percent: int) -> None:
    busy = _SLICE_S * load_percent / 100
    ready()
    while time.monotonic() < deadline and not _orphaned(parent):
        start = time.monotonic()
        while time.monotonic() - start < busy:
            pass
        idle = _SLICE_S - (time.monotonic() - start)
        if idle > 0:
            time.sleep(idle)


def memory(parent: int, deadline: float, size_mib: int) -> None:
    block = bytearray(b"\x5a") * (size_mib * 1024 * 1024)  # written, so the pages are really resident
    ready()
    while time.monotonic() < deadline and not _orphaned(parent):
        time.sleep(_SLICE_S)
    del block


def ready() -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaoskit_host.worker")
    parser.add_argument("kind", choices=["cpu", "memory"])
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, required=True)
    parser.add_argument("--token", required=True, help="Marks the workers of one fault (found again on revert).")
    parser.add_argument("--load-percent", type=int, default=100)
    parser.add_argument("--size-mib", type=int, default=0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # chaoskit's revert decides when a worker stops
    deadline = time.monotonic() + args.max_seconds
    if _orphaned(args.parent):
        return 0
    if args.kind == "cpu":
        cpu(args.parent, deadline, max(1, min(100, args.load_percent)))
    else:
        memory(args.parent, deadline, args.size_mib)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
