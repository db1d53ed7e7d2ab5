"""chaoskit's pytest plugin (entry point ``pytest11: chaoskit``): resilience tests next to unit tests.

- ``--chaos`` (or ini ``chaos = true``) runs chaos tests; without it they are skipped, with the reason.
- ``@pytest.mark.chaos`` marks a test as a chaos test; a test using the ``chaos`` fixture is one too.
- Experiment files matching ini ``chaos_files`` (default ``*.chaos.yaml``) are collected as test items;
  a failed one shows the outcome, the deviations by probe and phase, the fault windows and the TTR.
- The ``chaos`` fixture runs experiments from code (dicts, :class:`chaoskit.Experiment` objects or
  files) and returns a :class:`ChaosResult`. The ``chaos_config`` fixture (override it in a conftest)
  gives configuration values to every experiment of the directory, e.g. the URL of a service a
  fixture started.
- Each test's journal goes to ``<rootdir>/chaoskit-test-runs/<test>/journal.json`` (``--chaos-runs-dir``
  or ini ``chaos_runs_dir``); ``--junitxml`` gets ``chaoskit.outcome`` and ``chaoskit.journal``
  properties.
- pytest-xdist: each worker keeps its ledger in ``$CHAOSKIT_STATE_DIR/xdist-<worker>``.

Extension point for other chaoskit plugins (Toxiproxy, load...): a distribution registers a module of
pytest fixtures under the entry point group ``chaoskit.pytest_fixtures``; this plugin registers it with
pytest as ``chaoskit.<name>`` when chaos tests are enabled -- so such modules cost nothing in runs
without ``--chaos`` (chaos tests are skipped there, their fixtures are never set up), ``-p no:chaoskit``
switches everything off and ``-p no:chaoskit.<name>`` one of them. Those modules may define fixtures
and hooks, but no command-line options (they are loaded after the command line is parsed).

Importing this plugin (the entry point) imports pytest and the standard library only, and this module
holds nothing but the hooks, the two fixtures and the settings: a session without chaos tests loads
``chaoskit`` and this module, nothing else. The rest (the ``chaos`` fixture's object, the result, the
file items) is imported when used; the public names below (``Chaos``, ``ChaosResult``...) load on first
use, and never through introspection (no ``__dir__``: tools that walk every module's attributes, such as
freezegun, see the loaded names only). The engine (pydantic, yaml, the runner) comes with a chaos run.
"""

from __future__ import annotations

import fnmatch
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from chaoskit.pytest_plugin.items import ChaosFailed, ChaosFile, ChaosItem
    from chaoskit.pytest_plugin.result import ChaosResult, FaultWindow, LoadWindow, NoLoadData, NoRecoveryMeasured
    from chaoskit.pytest_plugin.session import Chaos

SKIP_REASON = "chaos test: it injects faults, so it runs only with --chaos (or `chaos = true` in the pytest ini)"
FIXTURES_GROUP = "chaoskit.pytest_fixtures"


@dataclass(frozen=True)
class Settings:
    """The plugin's configuration for one pytest run (command line and ini)."""

    enabled: bool = False
    patterns: tuple[str, ...] = ("*.chaos.yaml",)
    runs_root: Path = Path("chaoskit-test-runs")
    variables: tuple[str, ...] = ()
    baseline: Path | None = None


SETTINGS = pytest.StashKey[Settings]()
DECLARED = pytest.StashKey[list[set[str]]]()
"""The configuration names each experiment run in this process declared (to check ``--chaos-var`` at the end)."""

_WHERE = {
    "Chaos": "chaoskit.pytest_plugin.session",
    "ChaosFailed": "chaoskit.pytest_plugin.items",
    "ChaosFile": "chaoskit.pytest_plugin.items",
    "ChaosItem": "chaoskit.pytest_plugin.items",
    "ChaosResult": "chaoskit.pytest_plugin.result",
    "FaultWindow": "chaoskit.pytest_plugin.result",
    "LoadWindow": "chaoskit.pytest_plugin.result",
    "NoLoadData": "chaoskit.pytest_plugin.result",
    "NoRecoveryMeasured": "chaoskit.pytest_plugin.result",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaoskit", "chaoskit resilience tests")
    group.addoption(
        "--chaos",
        action="store_true",
        default=False,
        dest="chaoskit_enabled",
        help="Run chaos tests (they inject faults); without it they are skipped.",
    )
    group.addoption(
        "--chaos-runs-dir",
        dest="chaoskit_runs_dir",
        default=None,
        metavar="DIR",
        help="Folder for each chaos test's journal (default: ini chaos_runs_dir, chaoskit-test-runs).",
    )
    group.addoption(
        "--chaos-var",
        dest="chaoskit_vars",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="A configuration value for every experiment that declares NAME (like chaoskit run --var).",
    )
    group.addoption(
        "--chaos-baseline",
        dest="chaoskit_baseline",
        default=None,
        metavar="DIR",
        help="Compare each chaos test's run with this baseline (chaoskit baseline save); a regression fails it.",
    )
    parser.addini("chaos", type="bool", default=False, help="Run chaos tests, as --chaos does.")
    parser.addini(
        "chaos_files",
        type="args",
        default=["*.chaos.yaml"],
        help="Glob(s) of experiment files collected as chaos tests (empty: collect none).",
    )
    parser.addini(
        "chaos_runs_dir",
        type="string",
        default="chaoskit-test-runs",
        help="Folder (relative to rootdir) for each chaos test's journal.",
    )


def pytest_configure(config: pytest.Config) -> None:
    enabled = bool(config.getoption("chaoskit_enabled") or config.getini("chaos"))
    runs_dir = config.getoption("chaoskit_runs_dir") or config.getini("chaos_runs_dir")
    settings = Settings(
        enabled=enabled,
        patterns=tuple(config.getini("chaos_files")),
        runs_root=Path(runs_dir),
        variables=tuple(config.getoption("chaoskit_vars") or ()),
        baseline=Path(config.getoption("chaoskit_baseline")) if config.getoption("chaoskit_baseline") else None,
    )
    config.stash[SETTINGS] = settings
    config.stash[DECLARED] = []
    if settings.variables:
        from chaoskit.config import parse_var

        for text in settings.variables:
            try:
                parse_var(text)
            except ValueError as exc:
                raise pytest.UsageError(str(exc).replace("--var", "--chaos-var")) from None
    if enabled and settings.baseline is not None and not settings.baseline.exists():
        raise pytest.UsageError(  # said before any fault is injected, not after each run as a traceback
            f"--chaos-baseline {settings.baseline}: no such file or folder "
            f"(store one with: chaoskit baseline save RUNS --to {settings.baseline})"
        )
    config.addinivalue_line("markers", "chaos: a chaos test (injects faults); runs only with --chaos")
    if enabled:
        _load_fixture_plugins(config)


def _load_fixture_plugins(config: pytest.Config) -> None:
    from chaoskit.entrypoints import group

    for ep in group(FIXTURES_GROUP):
        name = f"chaoskit.{ep.name}"
        if config.pluginmanager.is_blocked(name) or config.pluginmanager.has_plugin(name):
            continue
        try:
            module = ep.load()
        except Exception as exc:
            dist = ep.dist.name if ep.dist is not None else "?"
            raise pytest.UsageError(
                f"chaoskit: the pytest fixtures of {dist} ({FIXTURES_GROUP}: {ep.name} = {ep.value}) failed to "
                f"import: {type(exc).__name__}: {exc} (skip them with -p no:{name})"
            ) from exc
        config.pluginmanager.register(module, name)


def _matches(path: Path, patterns: tuple[str, ...]) -> bool:
    return any(path.match(p) if "/" in p else fnmatch.fnmatch(path.name, p) for p in patterns)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.stash[SETTINGS].patterns
    if patterns and _matches(file_path, patterns):
        from chaoskit.pytest_plugin.items import ChaosFile

        return ChaosFile.from_parent(parent, path=file_path)
    return None


def _uses_chaos_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("chaos") if info is not None else None
    # Only this plugin's fixture: a repo's own fixture named `chaos` does not make a chaos test.
    return defs is not None and len(defs) > 0 and getattr(defs[-1].func, "__module__", None) == __name__


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    enabled = config.stash[SETTINGS].enabled
    skip = pytest.mark.skip(reason=SKIP_REASON)
    if enabled and config.stash[SETTINGS].variables:
        _check_vars(config.stash[SETTINGS].variables, items)
    for item in items:
        marked = item.get_closest_marker("chaos") is not None
        if not marked and not _uses_chaos_fixture(item):
            continue
        if not marked:
            item.add_marker(pytest.mark.chaos)
        if not enabled and getattr(item, "problems", None) is None:  # an invalid file is an error, not a skip
            item.add_marker(skip)


def _check_vars(variables: tuple[str, ...], items: list[pytest.Item]) -> None:
    """A ``--chaos-var`` that no collected experiment file declares is a usage error (as ``chaoskit run --var``),
    said before anything runs. Python chaos tests build their experiments while they run: with any of them
    collected, their names cannot be known here, so nothing is refused."""
    from chaoskit.config import parse_var
    from chaoskit.pytest_plugin.items import ChaosItem, declared_names

    files = [item for item in items if isinstance(item, ChaosItem)]
    if not files or any(not isinstance(i, ChaosItem) and _uses_chaos_fixture(i) for i in items):
        return
    declared: set[str] = set()
    for item in files:
        declared |= declared_names(item.path)
    unknown = sorted({parse_var(text)[0] for text in variables} - declared)
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise pytest.UsageError(
            f"--chaos-var {', '.join(unknown)}: no collected experiment declares "
            f"{'it' if len(unknown) == 1 else 'them'} in its configuration (declared: {known})"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With Python chaos tests the ``--chaos-var`` names are known only once their experiments ran: a name that
    none of them declared is a usage error (exit 4, pytest's), said at the end. Not under xdist's controller
    (the experiments run in its workers)."""
    config = session.config
    settings, runs = config.stash[SETTINGS], config.stash.get(DECLARED, [])
    if not (settings.enabled and settings.variables and runs):
        return
    from chaoskit.config import parse_var

    declared = set().union(*runs)
    unknown = sorted({parse_var(text)[0] for text in settings.variables} - declared)
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        message = (
            f"--chaos-var {', '.join(unknown)}: no experiment that ran declares "
            f"{'it' if len(unknown) == 1 else 'them'} in its configuration (declared: {known})"
        )
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(f"ERROR: {message}", red=True)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


@pytest.fixture
def chaos_config() -> dict[str, Any]:
    """Configuration values for every experiment run in its scope (the names each one declares).

    Override it in a conftest.py to hand the experiments what your fixtures set up::

        @pytest.fixture
        def chaos_config(my_service):
            return {"api": my_service.url}
    """
    return {}


@pytest.fixture
def chaos(request: pytest.FixtureRequest, chaos_config: dict[str, Any]) -> Chaos:
    """Build and run chaos experiments in a test: ``result = chaos.run({...})``."""
    from chaoskit.pytest_plugin.session import Chaos

    return Chaos(request.node, chaos_config)


__all__ = [
    "Chaos",
    "ChaosFailed",
    "ChaosFile",
    "ChaosItem",
    "ChaosResult",
    "FaultWindow",
    "LoadWindow",
    "NoLoadData",
    "NoRecoveryMeasured",
    "Settings",
]
