"""What a ``chaoskit run`` imports after the runner and the CLI, module by module (issue 22's "tail").

Each row is the instructions (callgrind) of ``python -c "import chaoskit.runner, chaoskit.cli; import X"`` minus
those of ``python -c "import chaoskit.runner, chaoskit.cli"``: what X adds to a run that needs it. One fresh
interpreter per row, after an unmeasured run that writes the bytecode caches, with ``PYTHONHASHSEED=0`` (hash
randomisation moves a count by up to ~1 M). The last rows are what the HTTP probe's connection costs on top
(the ``idna`` codec that ``socket`` imports for a ``str`` host name) and the whole tail at once. Run from the
repo root::

    .venv/bin/python bench/run_tail.py [--json tail.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from callgrind import instructions

BASE = "import chaoskit.runner, chaoskit.cli"
ROWS = {
    "http probe (chaoskit_http.probes)": "import chaoskit_http.probes",
    "report (chaoskit.report)": "import chaoskit.report",
    "tracing (chaoskit.tracing.recorder)": "import chaoskit.tracing.recorder",
    "gameday + ctk.detect + progress": "import chaoskit.run.gameday, chaoskit.ctk.detect, chaoskit.progress",
    "process provider": "import chaoskit.providers.process",
    "html (stdlib)": "import html",
    "idna codec (socket, str host)": "import encodings.idna",
    "all of the above but html and idna": (
        "import chaoskit_http.probes, chaoskit.report, chaoskit.tracing.recorder, chaoskit.run.gameday, "
        "chaoskit.ctk.detect, chaoskit.progress, chaoskit.providers.process"
    ),
}


def count(code: str, env: dict[str, str]) -> int:
    argv = [sys.executable, "-c", code]
    subprocess.run(argv, env=env, check=True, timeout=300)  # writes the bytecode caches
    return instructions(argv, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this file")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONHASHSEED": "0"}
    base = count(BASE, env)
    print(f"{'base: ' + BASE:60} {base / 1e6:10.1f} M")
    rows: dict[str, float] = {}
    for label, code in ROWS.items():
        rows[label] = round((count(f"{BASE}; {code}", env) - base) / 1e6, 2)
        print(f"{'+ ' + label:60} {rows[label]:+10.2f} M", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"base": base, "added_M": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
