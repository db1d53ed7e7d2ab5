"""What ``chaoskit run`` and ``validate`` do with a CTK file (the click commands call these)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaoskit.ctk.load import LoadedCtk, load_ctk

if TYPE_CHECKING:  # `chaoskit validate` needs none of the run machinery
    from chaoskit.ctk.engine import CtkOptions
    from chaoskit.ctk.journal import CtkJournal
    from chaoskit.model.journal import Journal


def validate_ctk_file(
    path: Path, variables: Mapping[str, Any] | None = None, var_files: tuple[Path, ...] = ()
) -> LoadedCtk:
    """Raises :class:`chaoskit.errors.ValidationFailed` (exit 5) listing every problem."""
    return load_ctk(path, variables, var_files, os.environ)


def run_ctk_file(
    path: Path,
    options: CtkOptions,
    variables: Mapping[str, Any] | None = None,
    var_files: tuple[Path, ...] = (),
    journal_path: Path | None = None,
    out_dir: Path | None = None,
) -> tuple[CtkJournal, Journal]:
    """Run a CTK file with CTK's rules; write the CTK journal (``journal_path``) and, under ``out_dir``,
    chaoskit's journal and report. Returns both journals."""
    from chaoskit.ctk.engine import CtkRun

    loaded = validate_ctk_file(path, variables, var_files)
    options.out_dir = out_dir
    journal = CtkRun(loaded, options).run()
    if journal_path is not None:
        journal.write_ctk(journal_path)
    native = journal.chaoskit_journal()
    if journal_path is not None:
        native.artifacts["ctk_journal"] = str(journal_path)
    if out_dir is not None:
        from chaoskit.ledger import dump_json
        from chaoskit.report import report_run

        run_dir = out_dir / f"ctk-{native.run_id}"  # the folder the engine's trace went to
        native.artifacts["journal"] = str(run_dir / "journal.json")
        dump_json(run_dir / "journal.json", native)
        report_run(native)
    return journal, native
