"""The journal of a run whose runner was lost: what the guardian (:mod:`chaoskit.run.guardian`) writes after it
took over, so ``chaoskit report`` shows what happened.

- The runner had written its journal (it ended, then an inject it had cut short was handed over): the journal
  keeps its outcome; the guardian adds an error record saying what it reverted, and marks those faults reverted.
- Otherwise (SIGKILL, OOM, a frozen runner) a journal is written from what is left: the run's partial journal
  (``journal.partial.jsonl``, streamed as the run went) when it is readable, else a minimal journal from the
  ledger (title, start). Every ledger entry has a fault record. Its outcome is ``aborted`` with the reason
  "runner lost (...)" -- or ``error`` when a revert failed, saying to run ``chaoskit rollback``.

Nothing here knows secrets (the guardian is its own process): it writes only what the ledger and the runner's
own files hold, which the runner redacted already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chaoskit import __version__
from chaoskit.journalfile import PARTIAL, read_journal
from chaoskit.ledger import LedgerFile, dump_json
from chaoskit.model.journal import ErrorRecord, FaultRecord, Journal
from chaoskit.model.outcome import Outcome

JOURNAL = "journal.json"


@dataclass
class TakeOver:
    """What the guardian did (also written as ``guardian.json``)."""

    run_id: str
    why: str
    detected_at: float
    finished_at: float
    reverted: list[str] = field(default_factory=list)
    """Labels as :func:`chaoskit.rollback.rollback` reports them: ``name (plugin, run id)``."""
    failed: list[str] = field(default_factory=list)
    record_file: str = ""


def _label(run_id: str, name: str, plugin: str) -> str:
    return f"{name} ({plugin}, run {run_id})"


def partial_journal(run_dir: Path) -> Journal | None:
    """The journal the runner streamed before it was lost (:mod:`chaoskit.journalfile`), if it is readable."""
    try:
        return read_journal(run_dir)
    except Exception:  # no stream (killed before it started), or a line that is not a journal record
        return None


def _minimal(ledger: LedgerFile | None, run_id: str, started: float) -> Journal:
    return Journal(
        run_id=run_id,
        chaoskit_version=__version__,
        title=ledger.title if ledger is not None else run_id,
        experiment={},
        started_at=ledger.created_at if ledger is not None else started,
    )


def write_journal(run_dir: Path, ledger: LedgerFile | None, done: TakeOver) -> Path:
    """Add the guardian's take-over to the run's journal (or write one); returns its path."""
    path = run_dir / JOURNAL
    journal: Journal | None = None
    if path.exists():
        try:
            journal = Journal.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            journal = None  # unreadable: the guardian's own journal replaces it
    finished = journal is not None and journal.outcome is not None
    if journal is None:
        journal = partial_journal(run_dir) or _minimal(ledger, done.run_id, done.detected_at)
    by_id = {f.ledger_id: f for f in journal.faults}
    for entry in ledger.entries if ledger is not None else []:
        record = by_id.get(entry.id)
        if record is None:
            record = FaultRecord(
                name=entry.name, plugin=entry.plugin, params={}, ledger_id=entry.id, revert_info=entry.info
            )
            journal.faults.append(record)
        label = _label(done.run_id, entry.name, entry.plugin)
        if label in done.reverted:
            record.reverted_at, record.revert_error = done.finished_at, None
        elif any(f.startswith(label) for f in done.failed):
            record.revert_error = next(f for f in done.failed if f.startswith(label))
    what = f"reverted {len(done.reverted)}: {', '.join(done.reverted) or 'nothing was pending'}"
    if done.failed:
        what += f"; FAILED {len(done.failed)}: {', '.join(done.failed)}"
    journal.errors.append(
        ErrorRecord(where="guardian", type="RunnerLost", message=f"the guardian took over: {done.why}; {what}")
    )
    if not finished:
        if done.failed:
            journal.outcome = Outcome.ERROR
            journal.reason = f"runner lost ({done.why}); the guardian's revert failed: run `chaoskit rollback`"
        else:
            journal.outcome = Outcome.ABORTED
            journal.reason = f"runner lost ({done.why}); the guardian {what}"
        journal.exit_code = journal.outcome.exit_code
        journal.ended_at = done.finished_at
    journal.artifacts["guardian"] = done.record_file
    journal.artifacts["journal"] = str(path)
    dump_json(path, journal)
    (run_dir / PARTIAL).unlink(missing_ok=True)  # all of it is in journal.json now
    return path


__all__ = ["TakeOver", "partial_journal", "write_journal"]
