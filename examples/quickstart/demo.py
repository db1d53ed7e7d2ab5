"""Quick start: start the tiny service, run the experiment against it, stop the service (also on Ctrl-C)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    port = free_port()
    server = subprocess.Popen([sys.executable, str(HERE / "server.py"), str(port)])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        cmd = ["chaoskit", "run", str(HERE / "slow-health.yaml"), "--var", f"base_url=http://127.0.0.1:{port}",
               *sys.argv[1:]]
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
