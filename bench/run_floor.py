"""Where the instructions of a trivial ``run`` go, for chaoskit and Chaos Toolkit 1.19, and the floor that the
libraries each tool is built on set before any of its own code runs.

Each stage is a fresh interpreter under callgrind (instruction counts do not depend on the machine's load):

- ``python``: ``python -c pass``;
- ``libraries``: importing the third-party libraries the tool's run is built on (chaoskit: pydantic with one
  trivial model, click, PyYAML; Chaos Toolkit: click, PyYAML, requests);
- ``+ models`` (chaoskit only): every chaoskit model built (``import chaoskit.model``);
- ``all imports``: every module a real run of the same experiment imports, in the order it imported them (so
  module-level work such as building models counts, the run itself does not);
- ``run``: the whole command (the trivial experiment of ``core_vs_chaostoolkit.py``).

    .venv/bin/python bench/run_floor.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from callgrind import instructions
from core_vs_chaostoolkit import commands, ensure_chaostoolkit, start_server, write_experiments

LIBRARIES = {
    "chaoskit": "import click, pydantic, yaml\nclass M(pydantic.BaseModel):\n    x: int\n",
    "chaostoolkit": "import click, requests, yaml\n",
}
# Runs the tool's console script as itself, then writes the names of the modules it imported.
_RECORD = (
    "import atexit, runpy, sys\n"
    "out, exe = sys.argv[1], sys.argv[2]\n"
    "atexit.register(lambda: open(out, 'w').write('\\n'.join(m for m in list(sys.modules) if m != '__main__')))\n"
    "sys.argv = sys.argv[2:]\n"
    "runpy.run_path(exe, run_name='__main__')\n"
)
_IMPORT_ALL = (
    "import importlib, sys\n"
    "for name in open(sys.argv[1]).read().split():\n"
    "    try:\n"
    "        importlib.import_module(name)\n"
    "    except Exception:\n"
    "        pass\n"
)


def stages(tool: str, python: str, run: list[str], work: Path, env: dict[str, str]) -> dict[str, int]:
    modules = work / "modules.txt"
    recorded = subprocess.run([python, "-c", _RECORD, str(modules), *run], env=env, cwd=work, capture_output=True)
    if recorded.returncode != 0:
        raise SystemExit(f"{tool} run failed ({recorded.returncode}):\n{recorded.stderr.decode()[-2000:]}")
    argvs = {"python": [python, "-c", "pass"], "libraries": [python, "-c", LIBRARIES[tool]]}
    if tool == "chaoskit":
        argvs["+ models"] = [python, "-c", LIBRARIES[tool] + "import chaoskit.model\n"]
    argvs["all imports"] = [python, "-c", _IMPORT_ALL, str(modules)]
    argvs["run"] = run
    counts = {}
    for stage, argv in argvs.items():
        subprocess.run(argv, env=env, cwd=work, capture_output=True, timeout=300, check=False)  # bytecode caches
        counts[stage] = instructions(argv, env=env, cwd=work)
        print(f"{tool:12} {stage:12} {counts[stage]:>15,}", file=sys.stderr)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="Python for the Chaos Toolkit venv")
    parser.add_argument("--json", type=Path, default=None, help="also write the counts as JSON to this file")
    args = parser.parse_args()
    exes = {"chaoskit": Path(sys.executable).with_name("chaoskit"), "chaostoolkit": ensure_chaostoolkit(args.python)}
    server = start_server()
    counts: dict[str, dict[str, int]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="chaoskit-floor-") as tmp:
            root = Path(tmp)
            url = f"http://127.0.0.1:{server.server_address[1]}"
            files = dict(zip(exes, write_experiments(root / "experiments", url), strict=True))
            env = {**os.environ, "CHAOSKIT_STATE_DIR": str(root / "state"), "NO_COLOR": "1"}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            for tool, exe in exes.items():
                work = root / tool
                work.mkdir()
                run = commands(tool, exe, work, files[tool])["run"]
                counts[tool] = stages(tool, str(exe.with_name("python")), run, work, env)
    finally:
        server.shutdown()
        server.server_close()
    peer = counts["chaostoolkit"]["run"]
    for tool, stage_counts in counts.items():
        before = 0
        for stage, n in stage_counts.items():
            step = f"+{(n - before) / 1e6:,.0f} M" if stage != "run" or before else ""
            print(f"{tool:12} {stage:12} {n / 1e6:8,.0f} M  {step:>9}  x{n / peer:.2f} of Chaos Toolkit's run")
            before = n
    if args.json:
        args.json.write_text(json.dumps({"instructions": counts}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
