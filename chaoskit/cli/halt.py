"""``chaoskit halt``: the kill switch -- stop every live run of this machine's state folder, refuse new ones."""

from __future__ import annotations

import sys

import click

from chaoskit.cli.console import err, escape

EPILOG = """\b
Examples:
  chaoskit halt --reason "payments incident"   # stop every live run; refuse new ones
  chaoskit halt --status                       # halted? which runs are live?
  chaoskit halt --release                      # allow runs again

\b
Live runs revert their faults and end "aborted" (reason "halted: ..."); a runner that does not stop within its
guardian's grace is killed by the guardian, which reverts its faults. The halt is a file in the state folder
($CHAOSKIT_STATE_DIR/halt); creating that file (even empty) halts too.
Exit codes: 0 done, 4 some run still live after --wait.
"""


@click.command(epilog=EPILOG)
@click.option("--reason", default="", help="Why: shown in every stopped run's journal and in refusals.")
@click.option("--release", is_flag=True, help="Lift the halt: new runs may start again.")
@click.option("--status", is_flag=True, help="Show the halt (if any) and the live runs; change nothing.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the live runs to stop.",
)
def halt(reason: str, release: bool, status: bool, wait: float) -> None:
    """Stop every live chaoskit run on this machine (each reverts its faults) and refuse new ones."""
    from chaoskit.run import halt as switch

    if release and status:
        raise click.UsageError("use either --release or --status, not both")
    current = switch.current()
    live = switch.live_runs()
    if status:
        err.print(f"halted {escape(current.who_when())}: {escape(current.reason)}" if current else "not halted")
        for run in live:
            err.print(f"  live: run {run.run_id} ({escape(run.title)}, pid {run.pid}) -> {escape(run.run_dir)}")
        if not live:
            err.print("  no live run")
        sys.exit(0)
    if release:
        lifted = switch.release()
        err.print(f"released the halt {escape(lifted.who_when())}" if lifted else "not halted: nothing to release")
        sys.exit(0)
    state = switch.halt(reason)
    err.print(f"[bold red]halted[/] {escape(state.who_when())}" + (f": {escape(reason)}" if reason else ""))
    err.print(f"  new runs are refused until `chaoskit halt --release` (halt file {switch.halt_path()})")
    if not live:
        err.print("  no live run to stop")
        sys.exit(0)
    for run in live:
        err.print(f"  stopping run {run.run_id} ({escape(run.title)}, pid {run.pid})")
    left = switch.wait_stopped(live, wait)
    for run in live:
        if run not in left:
            err.print(f"  [green]✓[/] run {run.run_id} stopped (journal under {escape(run.run_dir)})")
    for run in left:
        err.print(f"  [red]✗[/] run {run.run_id} (pid {run.pid}) is still running after {wait:g}s")
    sys.exit(4 if left else 0)
