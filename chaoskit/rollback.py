"""``chaoskit rollback``: revert what a killed run left behind, from its ledger. Idempotent."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from chaoskit.errors import ChaosKitError
from chaoskit.ledger import Ledger, ledger_dir, pending_ledgers, pid_alive, stale_temp_files
from chaoskit.plugin import Context, Fault
from chaoskit.registry import Registry, default_registry
from chaoskit.timeouts import call_with_timeout


@dataclass
class RollbackReport:
    reverted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ledgers: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """Temp files of interrupted ledger writes that were removed."""

    @property
    def ok(self) -> bool:
        return not self.failed


def rollback(
    ledgers: list[Path] | None = None,
    directory: Path | None = None,
    registry: Registry | None = None,
    timeout: float = 60.0,
    force: bool = False,
) -> RollbackReport:
    """Revert every pending entry, newest first. A ledger whose run is still alive is skipped unless
    ``force`` (its runner will revert on its own)."""
    registry = registry or default_registry()
    report = RollbackReport()
    paths = ledgers if ledgers is not None else pending_ledgers(directory)
    for path in paths:
        ledger = Ledger.open(path)
        had_temp = ledger.temp_path.exists()  # a write the killed run did not finish (our writes reuse the name)
        report.ledgers.append(str(path))
        if (
            not force
            and ledger.data.pid != _self_pid()
            and pid_alive(ledger.data.pid)
            and _is_chaoskit(ledger.data.pid)
        ):
            report.skipped.append(f"{path}: run {ledger.data.run_id} is still running (pid {ledger.data.pid})")
            continue
        ctx = Context(run_id=ledger.data.run_id)
        for entry in ledger.data.pending():
            label = f"{entry.name} ({entry.plugin}, run {ledger.data.run_id})"
            try:
                plugin = registry.instance("fault", entry.plugin)
                assert isinstance(plugin, Fault)
                revert = functools.partial(plugin.revert, entry.info, ctx)
                call_with_timeout(revert, timeout, f"reverting {entry.name}")
            except (ChaosKitError, Exception) as exc:
                ledger.update(entry.id, state="revert-failed", error=str(exc))
                report.failed.append(f"{label}: {exc}")
            else:
                ledger.update(entry.id, state="reverted")
                report.reverted.append(label)
        if ledger.close_if_clean() and had_temp:
            report.removed.append(str(ledger.temp_path))
    folders = {p.parent for p in paths} if ledgers is not None else {directory or ledger_dir()}
    for folder in sorted(folders):
        for tmp in stale_temp_files(folder):
            tmp.unlink(missing_ok=True)
            report.removed.append(str(tmp))
    return report


def _self_pid() -> int:
    return os.getpid()


def _is_chaoskit(pid: int) -> bool:
    """Guard against pid reuse: the live process must look like a chaoskit/python process."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return True  # cannot tell (not Linux): be careful, treat as alive
    return "chaoskit" in cmdline or "python" in cmdline or "pytest" in cmdline
