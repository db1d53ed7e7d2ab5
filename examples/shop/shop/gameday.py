"""The demo game day: start the shop, run its experiments under Locust load with ``chaoskit run``, print the
summary and where everything was written, stop the shop (also on Ctrl-C / SIGTERM).

    python -m shop.gameday                      # what ./scripts/demo runs
    python -m shop.gameday --fault-duration 4s --users 4 --out /tmp/gameday

Exit 0 when every experiment ended with the outcome documented here (EXPECTED): the three payments
experiments are *expected* to deviate -- finding that weakness is the tool working. Exit 1 otherwise, 130 when
interrupted, 2 when the shop could not start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shop.launcher import Shop, ShopError

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"

EXPECTED = {
    "01-inventory-latency": "passed",  # timeouts + retries mask a slow replica
    "02-replica-crash": "passed",  # retries on the other replica; the supervisor restarts the dead one
    "03-inventory-partition": "passed",  # the cache fallback serves stale stock
    "04-payments-latency": "deviated",  # THE FINDING: no timeout on payments, checkout is as slow as payments
    "05-payments-outage": "deviated",  # ... and no fallback: a payments outage fails every checkout
    "06-payments-errors": "deviated",  # ... nor retries: payments answering 503 to some charges fails those checkouts
}


NEEDED = {
    "fault": ["toxiproxy.latency", "toxiproxy.down", "host.kill", "httpfault.abort"],
    "probe": ["load.error_rate", "load.latency", "httpfault.hits"],
    "load": ["locust"],
    "section": ["toxiproxy", "httpfault"],
}


def missing_plugins() -> list[str]:
    """The chaoskit plugins the game day needs that are not installed (named ``kind name``)."""
    from chaoskit.registry import default_registry

    registry = default_registry()
    return [f"{kind} {name}" for kind, names in NEEDED.items() for name in names if name not in registry.entries(kind)]  # type: ignore[arg-type]


def _chaoskit() -> str:
    beside = Path(sys.executable).with_name("chaoskit")
    return str(beside) if beside.exists() else (shutil.which("chaoskit") or "chaoskit")


def run_gameday(
    out: Path, fault_duration: str, users: int, observe_recovery: str = "5s", experiments: Path = EXPERIMENTS
) -> int:
    missing = missing_plugins()
    if missing:
        print(
            f"gameday: chaoskit plugins missing: {', '.join(missing)} (uv sync --all-packages installs the "
            "workspace's plugins: chaoskit-toxiproxy, chaoskit-host, chaoskit-locust, chaoskit-httpfault)",
            file=sys.stderr,
        )
        return 2
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    shop = Shop(out / "shop")
    child: subprocess.Popen[str] | None = None

    def on_term(signum: int, frame: Any) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)  # chaoskit reverts what it injected, then exits 130
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        print(
            "> starting the shop (Toxiproxy, the HTTP fault proxy, 2 inventory replicas, payments, storefront)",
            file=sys.stderr,
        )
        t0 = time.monotonic()
        try:
            info = shop.start()
        except ShopError as exc:
            print(f"gameday: the shop did not start: {exc}", file=sys.stderr)
            return 2
        print(
            f"  storefront {info.storefront_url}, Toxiproxy {info.toxiproxy_url}, "
            f"HTTP fault proxy {info.httpfault_url} "
            f"(up in {time.monotonic() - t0:.1f}s; logs in {out / 'shop' / 'logs'})",
            file=sys.stderr,
        )
        summary_md = out / "summary.md"
        cmd = [
            _chaoskit(),
            "run",
            str(experiments),
            "--out",
            str(out / "runs"),
            "--json",
            "--summary-md",
            str(summary_md),
            "--var",
            f"fault_duration={fault_duration}",
            "--var",
            f"users={users}",
            "--var",
            f"observe_recovery={observe_recovery}",
        ]
        print(f"> {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, **shop.env()})
        stdout, _ = child.communicate()
        code = child.returncode
        if code == 130:
            return 130
        try:
            verdicts = json.loads(stdout)["runs"]
        except (ValueError, KeyError, TypeError):
            print(f"gameday: chaoskit exited {code} without a verdict", file=sys.stderr)
            return 1
        return _judge(verdicts, out, summary_md, Path(info.spans_dir))
    except KeyboardInterrupt:
        if child is not None:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)  # a terminal's Ctrl-C has reached it already; `kill -INT` has not
            try:
                child.wait(timeout=60)  # let chaoskit finish its reverts
            except subprocess.TimeoutExpired:
                child.kill()
        print("gameday: interrupted; faults reverted, shop stopped", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        shop.stop()
        signal.signal(signal.SIGTERM, previous)


def _judge(verdicts: list[dict[str, Any]], out: Path, summary_md: Path, spans: Path) -> int:
    wrong = []
    print("\nexpected outcomes:", file=sys.stderr)
    for v in verdicts:
        name = Path(v["file"]).stem
        want = EXPECTED.get(name)
        mark = "✓" if want in (None, v["outcome"]) else "✗"
        if mark == "✗":
            wrong.append(f"{name}: {v['outcome']} (expected {want}): {v['reason']}")
        print(f"  {mark} {name}: {v['outcome']}" + (f" (expected {want})" if want else ""), file=sys.stderr)
    missing = sorted(set(EXPECTED) - {Path(v["file"]).stem for v in verdicts})
    wrong += [f"{name}: did not run" for name in missing]
    print("\nwritten:", file=sys.stderr)
    for v in verdicts:
        folder = Path(v["journal"]).parent if v.get("journal") else None
        if folder is None:
            continue
        print(f"  {Path(v['file']).stem}:", file=sys.stderr)
        for kind in ("journal.json", "trace.json", "report.html"):
            if (folder / kind).exists():
                print(f"    {folder / kind}", file=sys.stderr)
    print(f"  summary: {summary_md}", file=sys.stderr)
    print(f"  service spans: {spans}", file=sys.stderr)
    if wrong:
        print("\ngameday: outcomes differ from the documented ones:\n  " + "\n  ".join(wrong), file=sys.stderr)
        return 1
    print("\ngameday: every outcome is the documented one (the payments finding included)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> None:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="scripts/demo (python -m shop.gameday)",
        description=" ".join(doc.split("\n\n")[0].split()),
        epilog=" ".join(doc.split("\n\n")[-1].split()),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("gameday-runs") / time.strftime("%Y%m%d-%H%M%S"),
        help="folder for the shop's logs, every run (OUT/runs) and the summary (default: gameday-runs/<now>)",
    )
    parser.add_argument(
        "--fault-duration",
        default=os.environ.get("GAMEDAY_FAULT_DURATION", "10s"),
        help="how long each fault is held, e.g. 4s (default: $GAMEDAY_FAULT_DURATION, else 10s)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=int(os.environ.get("GAMEDAY_USERS", "8")),
        help="Locust users for each experiment's load (default: $GAMEDAY_USERS, else 8)",
    )
    parser.add_argument(
        "--observe-recovery",
        default=os.environ.get("GAMEDAY_OBSERVE_RECOVERY", "5s"),
        help="load keeps running this long after each revert, to measure the load's time to recovery "
        "(default: $GAMEDAY_OBSERVE_RECOVERY, else 5s)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C works even if started with SIGINT ignored
    sys.exit(run_gameday(args.out, args.fault_duration, args.users, args.observe_recovery))


if __name__ == "__main__":
    main()
