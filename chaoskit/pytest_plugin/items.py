"""Experiment files as test items: each ``*.chaos.yaml`` (ini ``chaos_files``) is one item.

The item is a :class:`pytest.Function` whose function only requests the ``chaos`` fixture, so the
repo's conftest fixtures apply as they do to any test: autouse fixtures, and ``chaos_config``
(configuration values, e.g. the URL of a service a fixture started) reach the experiment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from chaoskit.pytest_plugin.result import ChaosResult
    from chaoskit.pytest_plugin.session import Chaos


class ChaosFailed(Exception):
    """An experiment file's run did not pass; carries the readable report."""

    def __init__(self, result: ChaosResult) -> None:
        self.result = result
        super().__init__(result.report())


def experiment_file(chaos: Chaos) -> None:
    """Placeholder body: :meth:`ChaosItem.runtest` does the work; this only declares the fixture."""


class ChaosFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        name = self.path.name.split(".")[0] or self.path.name
        item = ChaosItem.from_parent(self, name=name, callobj=experiment_file)
        from chaoskit.pytest_plugin import SETTINGS

        if not self.config.stash[SETTINGS].enabled:  # with --chaos the run validates it all (an item failure)
            item.problems = shallow_problems(self.path)
        yield item


def declared_names(path: Path) -> set[str]:
    """The configuration names an experiment file declares (none when it does not parse: its item says why)."""
    from chaoskit.errors import ValidationFailed
    from chaoskit.loader import read_document

    try:
        data, _ = read_document(path)
    except ValidationFailed:
        return set()
    declared = data.get("configuration") if isinstance(data, dict) else None
    return set(declared) if isinstance(declared, dict) else set()


def shallow_problems(path: Path) -> str | None:
    """Without ``--chaos`` an experiment file is not run, so not fully validated (its values may come from
    fixtures, its plugins are not imported): only what needs neither is checked -- it parses, within the
    limits, and its top-level keys are known. The problems (text), or None."""
    from chaoskit.errors import Problem, ValidationFailed
    from chaoskit.hints import did_you_mean
    from chaoskit.loader import line_of, read_document
    from chaoskit.model.experiment import Experiment
    from chaoskit.registry import default_registry

    source = str(path)
    try:
        data, lines = read_document(path)
    except ValidationFailed as exc:
        return str(exc)
    if not isinstance(data, dict):
        return str(ValidationFailed([Problem("", "an experiment is a mapping (title:, method:, ...)")], source))
    known = {f.alias or n for n, f in Experiment.model_fields.items()} - {"sections"}
    known |= set(default_registry().entries("section"))  # entry point names only: no plugin is imported
    problems = [
        Problem(str(key), "unknown key" + did_you_mean(key, known), line_of(lines, (key,)), source)
        for key in data
        if key not in known
    ]
    return str(ValidationFailed(problems, source)) if problems else None


class ChaosItem(pytest.Function):
    """One experiment file, run like ``chaoskit run FILE``; passes only when the outcome is ``passed``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_marker(pytest.mark.chaos)
        self.result: ChaosResult | None = None
        self.problems: str | None = None
        """Without ``--chaos``: what the shallow check found (the item is then an error, not a skip)."""

    def setup(self) -> None:
        if self.problems is not None:  # before any fixture: nothing is started for a file that cannot run
            self.user_properties.append(("chaoskit.outcome", "invalid"))
            pytest.fail(self.problems, pytrace=False)
        super().setup()

    def runtest(self) -> None:
        chaos: Chaos = self.funcargs["chaos"]  # type: ignore[assignment]
        self.result = chaos.run(self.path)
        if not self.result.passed:
            raise ChaosFailed(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, ChaosFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"chaos experiment {self.path.name}"
