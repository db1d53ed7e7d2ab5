"""A tiny process supervisor: runs one service, restarts it when it dies (crash, SIGKILL), stops it on SIGTERM.

    python -m shop.supervisor --name inventory-1 --pidfile run/inventory-1.pid -- python -m shop.inventory ...

The service's current pid is in ``--pidfile`` (rewritten after each restart); ``--status`` (JSON) also counts
restarts, so a game day can kill the pid and watch the supervisor bring the replica back.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from shop.httpkit import die_with_parent


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def supervise(name: str, command: list[str], pidfile: Path, status: Path | None, restart_delay_s: float) -> int:
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, frame: Any) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    restarts = 0
    while not stopping.is_set():
        child = subprocess.Popen(command)
        if stopping.is_set():  # SIGTERM arrived while starting it
            child.terminate()
        _write(pidfile, f"{child.pid}\n")
        if status is not None:
            _write(
                status, json.dumps({"name": name, "pid": child.pid, "restarts": restarts, "started_at": time.time()})
            )
        code = child.wait()
        if stopping.is_set():
            break
        restarts += 1
        print(
            f"supervisor[{name}]: pid {child.pid} exited with {code}; restarting in {restart_delay_s:g}s "
            f"(restart #{restarts})",
            file=sys.stderr,
            flush=True,
        )
        stopping.wait(restart_delay_s)
    if child is not None and child.poll() is None:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    pidfile.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shop.supervisor")
    parser.add_argument("--name", required=True)
    parser.add_argument("--pidfile", type=Path, required=True)
    parser.add_argument("--status", type=Path, default=None)
    parser.add_argument("--restart-delay", type=float, default=0.5, help="seconds before a restart")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to supervise after --")
    die_with_parent()
    sys.exit(supervise(args.name, command, args.pidfile, args.status, args.restart_delay))


if __name__ == "__main__":
    main()
