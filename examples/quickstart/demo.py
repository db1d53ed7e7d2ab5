"""Quick start: start the tiny service, run the experiment against it, stop the service (also on Ctrl-C)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    # The server binds port 0 itself and prints the port it got: no port is chosen ahead, so none can clash.
    server = subprocess.Popen([sys.executable, str(HERE / "server.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "listening on 127.0.0.1:<port>", or "" if it died
        if not line.startswith("listening on "):
            print(f"quickstart: the service did not start (exit {server.wait(timeout=10)})", file=sys.stderr)
            return 4
        port = int(line.rsplit(":", 1)[1])
        cmd = [
            "chaoskit",
            "run",
            str(HERE / "slow-health.yaml"),
            "--var",
            f"base_url=http://127.0.0.1:{port}",
            *sys.argv[1:],
        ]
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
