"""One Chaos Toolkit experiment file, run as it is by real Chaos Toolkit (`chaos run`) and by `chaoskit run`.

The file is bench/core_vs_chaostoolkit.py's CTK experiment (two HTTP probes on a real local server, one
process action, one process rollback). For each tool and command (validate, run): wall time, CPU time and
peak RSS over N alternating runs after a warm-up round, and a check that each run did the whole experiment
with CTK's verdict (status completed, not deviated, one rollback, exit 0). chaoskit additionally writes its
own journal, report and trace for every run.

    .venv/bin/python bench/ctk_file_both_tools.py --chaos /path/to/ctk-venv/bin/chaos [--runs 7]

Without --chaos, Chaos Toolkit 1.19 is installed as bench/core_vs_chaostoolkit.py does (its cached venv).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_vs_chaostoolkit import _Handler, chaostoolkit_experiment, ensure_chaostoolkit, measure, start_server

TOOLS = ("chaoskit", "chaostoolkit")
COMMANDS = ("validate", "run")


def argv(tool: str, exe: Path, command: str, experiment: Path, work: Path) -> list[str]:
    journal = str(work / "journal.json")
    if tool == "chaoskit":
        extra = ["--journal-path", journal, "--out", str(work / "runs"), "-q"] if command == "run" else []
        return [str(exe), command, str(experiment), *extra]
    common = [str(exe), "--no-version-check", "--no-log-file", "--settings", str(work / "settings.yaml")]
    return [*common, command, *(["--journal-path", journal] if command == "run" else []), str(experiment)]


def check(tool: str, work: Path, code: int, hits: int) -> None:
    journal = json.loads((work / "journal.json").read_text())
    ok = code == 0 and hits >= 4 and journal["status"] == "completed" and not journal["deviated"]
    if not ok or len(journal["rollbacks"]) != 1:
        raise SystemExit(f"{tool}: the run did not do the whole experiment (exit {code}, {hits} probe hits)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chaos", type=Path, default=None, help="`chaos` of a Chaos Toolkit venv")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    exes = {"chaoskit": Path(sys.executable).with_name("chaoskit"), "chaostoolkit": args.chaos}
    if exes["chaostoolkit"] is None:
        exes["chaostoolkit"] = ensure_chaostoolkit(sys.executable)
    server = start_server()
    samples: dict[str, dict[str, list[dict[str, float]]]] = {t: {c: [] for c in COMMANDS} for t in TOOLS}
    try:
        with tempfile.TemporaryDirectory(prefix="ctk-bench-") as tmp:
            root = Path(tmp)
            experiment = root / "experiment.json"
            doc = chaostoolkit_experiment(f"http://127.0.0.1:{server.server_address[1]}")
            experiment.write_text(json.dumps(doc, indent=2))
            env = {**os.environ, "CHAOSKIT_STATE_DIR": str(root / "state"), "NO_COLOR": "1"}
            for round_no in range(1 + args.runs):
                for command in COMMANDS:
                    for tool in TOOLS if round_no % 2 == 0 else TOOLS[::-1]:
                        work = root / tool
                        work.mkdir(exist_ok=True)
                        before = _Handler.hits
                        usage, proc = measure(argv(tool, exes[tool], command, experiment, work), work, env)
                        if proc.returncode != 0:
                            raise SystemExit(f"{tool} {command} failed: {proc.stderr[-2000:]}")
                        if command == "run":
                            check(tool, work, proc.returncode, _Handler.hits - before)
                        if round_no:
                            samples[tool][command].append(usage)
    finally:
        server.shutdown()
        server.server_close()
    print(f"{'':22}{'chaoskit':>12}{'Chaos Toolkit':>16}{'ratio':>8}   (medians of {args.runs} runs)")
    for command in COMMANDS:
        for key, label in (("wall_ms", "wall ms"), ("cpu_ms", "CPU ms"), ("rss_mib", "peak RSS MiB")):
            a = statistics.median(s[key] for s in samples["chaoskit"][command])
            b = statistics.median(s[key] for s in samples["chaostoolkit"][command])
            print(f"{command + ' ' + label:22}{a:>12.1f}{b:>16.1f}{a / b:>8.2f}")

    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
