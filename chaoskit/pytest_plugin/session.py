"""The ``chaos`` fixture's object: builds and runs experiments inside a test, saves each journal
under a folder named after the test, and tags the test's JUnit record with the outcome."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chaoskit.pytest_plugin import SETTINGS, Settings
from chaoskit.pytest_plugin.result import ChaosResult

if TYPE_CHECKING:
    from chaoskit.loader import Loaded
    from chaoskit.model.experiment import Experiment
    from chaoskit.model.journal import Journal

MARKER_FILE = ".chaoskit-test-run"


def worker_id(config: pytest.Config) -> str:
    """pytest-xdist's worker id (``gw0``, ``gw1``...), or ``master`` without xdist."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if isinstance(workerinput, dict) else "master"


def dir_name(nodeid: str) -> str:
    """A folder name for a test: readable, unique per node id, safe on every filesystem."""
    readable = nodeid.replace("::", "--").replace("/", "-")
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", readable).strip("._-") or "test"
    if len(text) > 120 or text != readable:  # lossy: a hash keeps it unique
        text = f"{text[:110]}-{hashlib.sha1(nodeid.encode()).hexdigest()[:8]}"
    return text


@contextmanager
def worker_state(worker: str) -> Iterator[None]:
    """Under xdist each worker keeps its revert ledger (and plugins their state) in its own folder:
    ``$CHAOSKIT_STATE_DIR/xdist-<worker>``. Without xdist the usual folder is used, so a plain
    ``chaoskit rollback`` finds what a killed pytest left behind."""
    if worker == "master":
        yield
        return
    from chaoskit.ledger import state_dir

    before = os.environ.get("CHAOSKIT_STATE_DIR")
    os.environ["CHAOSKIT_STATE_DIR"] = str(state_dir() / f"xdist-{worker}")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CHAOSKIT_STATE_DIR", None)
        else:
            os.environ["CHAOSKIT_STATE_DIR"] = before


class Chaos:
    """Run chaos experiments from a test: ``chaos.run({...})``, ``chaos.run(Experiment(...))`` or
    ``chaos.run("checkout.chaos.yaml")``. Each run's journal goes to :attr:`runs_dir`."""

    def __init__(self, node: pytest.Item, defaults: Mapping[str, Any] | None = None) -> None:
        self.node = node
        self.settings = node.config.stash.get(SETTINGS, Settings())
        self.defaults = dict(defaults or {})
        self.worker_id = worker_id(node.config)
        root = self.settings.runs_root
        self.runs_dir = (root if root.is_absolute() else node.config.rootpath / root) / dir_name(node.nodeid)
        """This test's folder: the first run's journal is ``runs_dir/journal.json``, later ones ``run-N/``."""
        self.results: list[ChaosResult] = []

    def __repr__(self) -> str:
        return f"<Chaos {self.node.nodeid} ({len(self.results)} runs)>"

    @staticmethod
    def free_port() -> int:
        """A TCP port on 127.0.0.1 that was free a moment ago (:func:`chaoskit.ports.free_port`). Racy: prefer
        starting your service on port 0 and reading the port it reports; use this only when a number must be
        chosen ahead, and retry on a clash."""
        from chaoskit.ports import free_port

        return free_port()

    def run(
        self,
        experiment: Experiment | Mapping[str, Any] | str | os.PathLike[str],
        *,
        config: Mapping[str, Any] | None = None,
    ) -> ChaosResult:
        """Validate and run an experiment; return its result whatever the outcome (assert on it).

        ``config`` sets configuration values (like ``chaoskit run --var``); the ``chaos_config`` fixture
        and ``--chaos-var`` give defaults for the names an experiment declares. An invalid experiment
        fails the test at once with every problem listed. Relative paths in the experiment (files,
        ``python`` modules) resolve next to the experiment file, or next to the test file."""
        loaded = self._load(experiment, config)
        return self._execute(loaded)

    # -- loading -----------------------------------------------------------------------------
    def _load(
        self, experiment: Experiment | Mapping[str, Any] | str | os.PathLike[str], config: Mapping[str, Any] | None
    ) -> Loaded:
        from chaoskit.errors import ValidationFailed
        from chaoskit.loader import read_document, validate_document
        from chaoskit.model.experiment import Experiment

        lines = None
        if isinstance(experiment, str | os.PathLike):
            path = Path(experiment)
            if not path.is_absolute():
                path = self.node.path.parent / path
            source = str(path)
        else:
            # The experiment lives in the test file: its folder is the work_dir, the node id names it.
            source = f"{self.node.path}::{self.node.name.replace('/', '_')}"
        try:
            if isinstance(experiment, str | os.PathLike):
                data, lines = read_document(path)
            elif isinstance(experiment, Experiment):
                data = {
                    **experiment.model_dump(mode="json", by_alias=True, exclude_unset=True),
                    **experiment.sections,
                }
            elif isinstance(experiment, Mapping):
                data = dict(experiment)
            else:
                raise TypeError(f"chaos.run() takes an Experiment, a dict or a path, not {type(experiment).__name__}")
            return validate_document(data, lines, source, self._overrides(data, config))
        except ValidationFailed as exc:
            problems = str(exc)
        self.node.user_properties.append(("chaoskit.outcome", "invalid"))
        pytest.fail(problems, pytrace=False)  # outside `except`: the report is the problem list, no chain

    def _overrides(self, data: Any, config: Mapping[str, Any] | None) -> dict[str, Any]:
        from chaoskit.config import parse_var

        declared = data.get("configuration") if isinstance(data, dict) else None
        names = set(declared) if isinstance(declared, dict) else set()
        shared = dict(self.defaults)
        for text in self.settings.variables:
            name, value = parse_var(text)
            shared[name] = value
        from chaoskit.pytest_plugin import DECLARED

        self.node.config.stash.get(DECLARED, []).append(names)  # --chaos-var is checked against these at the end
        # Shared values apply to the names this experiment declares; `config=` is checked strictly.
        return {**{k: v for k, v in shared.items() if k in names}, **(config or {})}

    # -- running -----------------------------------------------------------------------------
    def _next_run_dir(self) -> Path:
        if not self.results:
            if (self.runs_dir / MARKER_FILE).exists():
                shutil.rmtree(self.runs_dir)  # this test's runs from an earlier pytest session
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            (self.runs_dir / MARKER_FILE).write_text(self.node.nodeid + "\n", encoding="utf-8")
            return self.runs_dir
        return self.runs_dir / f"run-{len(self.results) + 1}"

    def _execute(self, loaded: Loaded) -> ChaosResult:
        from rich.console import Console

        from chaoskit.progress import LiveProgress
        from chaoskit.runner import RunOptions, run_experiment

        run_dir = self._next_run_dir()
        progress = LiveProgress(Console(stderr=True, soft_wrap=True, highlight=False))
        with worker_state(self.worker_id):
            journal = run_experiment(loaded, RunOptions(run_dir=run_dir, hooks=[progress]))
        _write_report(journal)
        result = ChaosResult(journal, run_dir / "journal.json")
        self.results.append(result)
        self._record(journal, result.journal_path)
        _reraise_interrupt(journal)
        baseline = self.settings.baseline
        if baseline is not None:
            self._gate(result, baseline)
        return result

    def _gate(self, result: ChaosResult, baseline: Path) -> None:
        """``--chaos-baseline``: compare with the baseline; JUnit gets the numbers; a regression fails the test."""
        from chaoskit.compare.render import markdown
        from chaoskit.errors import ChaosKitError

        props = self.node.user_properties
        problem: str | None = None
        try:
            comparison = result.compare(baseline)
        except ChaosKitError as exc:  # NotComparable, or an unreadable baseline file: its message, no traceback
            problem = str(exc)
        if problem is not None:  # failed outside the except block: no "During handling of the above exception"
            props.append(("chaoskit.compare", "not comparable"))
            # a run that did not pass says so first: "not comparable" alone would hide a deviation
            text = "" if result.passed else result.report() + "\n\n"
            pytest.fail(f"{text}chaoskit: not comparable with the baseline {baseline}: {problem}", pytrace=False)
        props.append(("chaoskit.compare", "regression" if comparison.regressed else "no regression"))
        for f in comparison.findings:
            if f.regression or f.metric in ("ttr_s", "load_ttr_s"):
                props.append((f"chaoskit.compare.{f.metric}", f"{f.baseline} -> {f.current}"))
        if comparison.regressed:
            pytest.fail(markdown([comparison], []), pytrace=False)

    def _record(self, journal: Journal, path: Path | None) -> None:
        """JUnit XML properties (pytest's ``--junitxml`` writes ``user_properties``)."""
        props = self.node.user_properties
        props.append(("chaoskit.outcome", journal.outcome.value if journal.outcome else "error"))
        props.append(("chaoskit.journal", str(path)))
        if journal.ttr_s is not None:
            props.append(("chaoskit.ttr_s", f"{journal.ttr_s:g}"))
        for name, artifact in sorted(journal.artifacts.items()):
            if name != "journal":
                props.append((f"chaoskit.{name}", artifact))


def _write_report(journal: Journal) -> None:
    """``report.html`` next to the journal, as after ``chaoskit run``; a failure to write it is a warning,
    never the test's verdict."""
    from chaoskit.report import report_run

    try:
        report_run(journal)
    except Exception as exc:
        warnings.warn(f"chaoskit: could not write the HTML report: {type(exc).__name__}: {exc}", stacklevel=1)


def _reraise_interrupt(journal: Journal) -> None:
    """Ctrl-C or SIGTERM during a run: the runner reverted the faults; now stop pytest as the signal meant."""
    from chaoskit.model.journal import Outcome

    if journal.outcome != Outcome.INTERRUPTED:
        return
    if "SIGINT" in journal.reason:
        raise KeyboardInterrupt
    pytest.exit(f"chaoskit: {journal.reason}", returncode=143)
