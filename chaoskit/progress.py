"""Live progress for ``chaoskit run``: phases, probe results and fault countdowns, on stderr (rich on a
terminal; plain lines, without importing rich, elsewhere)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from chaoskit.durations import format_duration
from chaoskit.hooks import hookimpl
from chaoskit.markup import escape
from chaoskit.model.journal import ActivityRecord, FaultRecord, Journal, ObservationRecord, Outcome
from chaoskit.redaction import scrub_text

if TYPE_CHECKING:  # the CLI passes its console: rich on a terminal, plain lines elsewhere (chaoskit.cli.console)
    from rich.console import Console

OUTCOME_STYLE = {
    Outcome.PASSED: "bold green",
    Outcome.DRY_RUN: "bold cyan",
    Outcome.DEVIATED: "bold red",
    Outcome.BASELINE_NOT_MET: "bold yellow",
    Outcome.ABORTED: "bold magenta",
    Outcome.ERROR: "bold red",
    Outcome.INVALID: "bold red",
    Outcome.INTERRUPTED: "bold yellow",
}


class LiveProgress:
    """A hook plugin that prints the run as it goes. Countdowns refresh in place on a terminal."""

    def __init__(self, console: Console, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self._status: Any = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _print(self, text: str) -> None:
        with self._lock:
            self.console.print(scrub_text(text), highlight=False)

    def _end_countdown(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
            self._ticker = None
        if self._status is not None:
            self._status.stop()
            self._status = None

    @hookimpl
    def chaoskit_run_started(self, journal: Journal) -> None:
        self._print(f"[bold]▶ {escape(journal.title)}[/] [dim](run {journal.run_id})[/]")

    @hookimpl
    def chaoskit_phase_started(self, journal: Journal, phase: str) -> None:
        self._end_countdown()
        self._print(f"[cyan]── {phase}[/]")

    @hookimpl
    def chaoskit_activity_finished(
        self, journal: Journal, kind: str, record: ObservationRecord | ActivityRecord | FaultRecord
    ) -> None:
        if isinstance(record, ObservationRecord):
            if record.phase in ("method", "safety") and record.ok and not self.verbose:
                return  # continuous checks that pass would flood the screen
            mark = "[green]✓[/]" if record.ok else ("[red]✗[/]" if record.ok is False else "[dim]·[/]")
            why = f" [dim]{escape(record.reason)}[/]" if record.reason else ""
            self._print(f"  {mark} probe {escape(record.probe)} ({record.duration_s * 1000:.0f} ms){why}")
        elif isinstance(record, ActivityRecord):
            self._end_countdown()
            mark = "[red]✗[/]" if record.error else "[green]✓[/]"
            extra = f" [red]{escape(record.error)}[/]" if record.error else ""
            self._print(f"  {mark} action {escape(record.name)}{extra}")
        elif record.error:
            self._print(f"  [red]✗ fault {escape(record.name)} failed to inject: {escape(record.error)}[/]")

    @hookimpl
    def chaoskit_fault_injected(self, journal: Journal, fault: FaultRecord) -> None:
        target = f": {escape(fault.target)}" if fault.target else ""
        self._print(f"  [bold red]⚡ injected[/] {escape(fault.name)} [dim]({escape(fault.plugin)}){target}[/]")

    @hookimpl
    def chaoskit_fault_reverted(self, journal: Journal, fault: FaultRecord) -> None:
        self._end_countdown()
        if fault.revert_error:
            self._print(f"  [bold red]✗ revert FAILED[/] {escape(fault.name)}: {escape(fault.revert_error)}")
        elif fault.revert_info.get("revertible") is False:  # a kill: say what happened, not "reverted"
            from chaoskit.report.facts import undone

            self._print(f"  [yellow]↺ {escape(fault.name)}:[/] {escape(undone(fault, journal.started_at))}")
        else:
            self._print(f"  [green]↺ reverted[/] {escape(fault.name)}")

    @hookimpl
    def chaoskit_waiting(self, journal: Journal, what: str, seconds: float) -> None:
        self._end_countdown()
        if seconds <= 0:
            return
        if not self.console.is_terminal:
            self._print(f"  ⏳ {escape(what)}: holding {format_duration(seconds)}")
            return
        end = time.monotonic() + seconds
        self._stop = threading.Event()
        self._status = self.console.status(f"{escape(what)}: {format_duration(seconds)} left")
        self._status.start()
        status, stop = self._status, self._stop

        def tick() -> None:
            while not stop.wait(0.25):
                left = max(0.0, end - time.monotonic())
                status.update(f"{escape(what)}: {left:.1f}s left")

        self._ticker = threading.Thread(target=tick, daemon=True)
        self._ticker.start()

    @hookimpl
    def chaoskit_aborted(self, journal: Journal, reason: str) -> None:
        self._print(f"  [bold magenta]■ aborted:[/] {escape(reason)}")

    @hookimpl
    def chaoskit_run_finished(self, journal: Journal) -> None:
        self._end_countdown()
        for err in journal.errors:
            self._print(f"  [red]error in {escape(err.where)}: {escape(err.type)}: {escape(err.message)}[/]")


def verdict_line(journal: Journal) -> str:
    outcome = journal.outcome or Outcome.ERROR
    if outcome == Outcome.DRY_RUN:
        return f"[bold cyan]DRY RUN OK[/] (exit 0) — {escape(journal.reason)}"
    ttr = f" · TTR {journal.ttr_s:.3g}s" if journal.ttr_s is not None else ""
    return (
        f"[{OUTCOME_STYLE[outcome]}]{outcome.value.upper()}[/] (exit {outcome.exit_code}){ttr} — "
        f"{escape(journal.reason)}"
    )
