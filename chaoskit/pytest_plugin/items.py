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
        yield ChaosItem.from_parent(self, name=name, callobj=experiment_file)


class ChaosItem(pytest.Function):
    """One experiment file, run like ``chaoskit run FILE``; passes only when the outcome is ``passed``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_marker(pytest.mark.chaos)
        self.result: ChaosResult | None = None

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
