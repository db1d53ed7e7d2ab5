"""pytest fixtures of the testkit, registered through the ``chaoskit.pytest_fixtures`` entry point group:
chaoskit's pytest plugin loads them only when chaos tests run (``--chaos``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def testkit_marker(tmp_path: Path) -> Path:
    """A path for a ``testkit.marker`` fault's file, unique to the test."""
    return tmp_path / "testkit.marker"
