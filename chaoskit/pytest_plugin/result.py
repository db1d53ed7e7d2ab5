"""What a chaos test gets back from ``chaos.run(...)``: the journal plus helpers to assert on it.

Load windows (``result.window("fault").error_rate``) come from ``journal.load``, the
:class:`~chaoskit.model.load.LoadReport` the load driver's ``LoadRun.report(phases)`` returned (its module says
the shape). Window names are the run's phases (``baseline``, ``method``, ``recovery``, ...) and one
``fault:<name>`` per fault, as the runner passes them to ``report``. ``error_rate`` is derived from
``requests``/``failures`` when the driver leaves it out. A run without load, or a driver that reports
no windows, raises :class:`NoLoadData` saying so: never a silent zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaoskit.errors import ChaosKitError

if TYPE_CHECKING:
    from chaoskit.compare.rules import Comparison
    from chaoskit.model.journal import Journal, ObservationRecord, Outcome


class NoLoadData(ChaosKitError):
    """The run has no load data (or not the window or metric asked for)."""


class NoRecoveryMeasured(ChaosKitError):
    """The run has no recovery phase, so there is no time-to-recovery to judge."""


@dataclass(frozen=True)
class LoadWindow:
    """Aggregated load metrics over one window of the run (see the module docstring for the shape)."""

    name: str
    metrics: Mapping[str, Any]

    def get(self, metric: str) -> float:
        value = self.metrics.get(metric)
        if metric == "error_rate" and value is None:
            requests, failures = self.metrics.get("requests"), self.metrics.get("failures")
            if isinstance(requests, int | float) and isinstance(failures, int | float):
                return float(failures) / float(requests) if requests else 0.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            known = ", ".join(sorted(k for k, v in self.metrics.items() if isinstance(v, int | float))) or "none"
            raise NoLoadData(f"load window {self.name!r} has no {metric!r} (the load driver reported: {known})")
        return float(value)

    @property
    def requests(self) -> float:
        return self.get("requests")

    @property
    def failures(self) -> float:
        return self.get("failures")

    @property
    def error_rate(self) -> float:
        """Failures / requests in the window, 0..1."""
        return self.get("error_rate")

    @property
    def rps(self) -> float:
        return self.get("rps")

    @property
    def p50_ms(self) -> float:
        return self.get("p50_ms")

    @property
    def p95_ms(self) -> float:
        return self.get("p95_ms")

    @property
    def p99_ms(self) -> float:
        return self.get("p99_ms")


@dataclass(frozen=True)
class FaultWindow:
    name: str
    plugin: str
    injected_at: float | None
    reverted_at: float | None

    @property
    def duration_s(self) -> float | None:
        if self.injected_at is None or self.reverted_at is None:
            return None
        return self.reverted_at - self.injected_at


class ChaosResult:
    """One run of an experiment inside a test."""

    def __init__(self, journal: Journal, journal_path: Path | None = None) -> None:
        self.journal = journal
        self.journal_path = journal_path

    def __repr__(self) -> str:
        return f"<ChaosResult {self.journal.title!r}: {self.outcome.value}>"

    @property
    def outcome(self) -> Outcome:
        from chaoskit.model.journal import Outcome

        return self.journal.outcome or Outcome.ERROR

    @property
    def passed(self) -> bool:
        from chaoskit.model.journal import Outcome

        return self.journal.outcome == Outcome.PASSED

    @property
    def reason(self) -> str:
        return self.journal.reason

    @property
    def ttr_s(self) -> float | None:
        """Time to recovery after the last revert, in seconds (None: not recovered or not measured)."""
        return self.journal.ttr_s

    def recovered_within(self, limit: str | float) -> bool:
        """Did the steady state hold again within ``limit`` (``"10s"``, ``"500ms"`` or seconds) of the revert?"""
        from chaoskit.durations import parse_duration

        seconds = parse_duration(limit)
        if self.journal.phase("recovery") is None:
            strategy = self.journal.experiment.get("steady_state", {}).get("strategy", "skip")
            raise NoRecoveryMeasured(
                f"{self.journal.title!r} measured no recovery (outcome {self.outcome.value}, "
                f"steady_state.strategy {strategy!r}): time-to-recovery needs steady-state probes and a run "
                "that reached the recovery phase"
            )
        return self.ttr_s is not None and self.ttr_s <= seconds

    @property
    def faults(self) -> list[FaultWindow]:
        return [FaultWindow(f.name, f.plugin, f.injected_at, f.reverted_at) for f in self.journal.faults]

    def observations(self, probe: str | None = None, phase: str | None = None) -> list[ObservationRecord]:
        return [
            o
            for o in self.journal.observations
            if (probe is None or o.probe == probe) and (phase is None or o.phase == phase)
        ]

    def deviations(self) -> list[ObservationRecord]:
        """Observations that missed their tolerance (baseline misses included)."""
        return [o for o in self.journal.observations if o.ok is False and o.phase != "safety"]

    def windows(self) -> dict[str, LoadWindow]:
        load = self.journal.load
        reported = load.model_dump(mode="json") if load is not None else {}
        if load is None or not reported:
            raise NoLoadData(
                f"{self.journal.title!r} has no load data: the experiment has no `load:` block, or the load "
                "driver reported nothing (journal.load is empty)"
            )
        if not load.windows:
            raise NoLoadData(
                f"{self.journal.title!r}: the load driver reported no windows (journal.load has keys "
                f"{sorted(reported)}); see chaoskit.model.load for the expected shape"
            )
        return {w.name: LoadWindow(w.name, w.metrics()) for w in load.windows}

    def window(self, name: str) -> LoadWindow:
        """A load window by name: a phase (``baseline``, ``recovery``...), ``fault:<name>``, or ``fault``
        for the only fault window of the run."""
        windows = self.windows()
        if name in windows:
            return windows[name]
        if name == "fault":
            faults = [w for n, w in windows.items() if n.startswith("fault:")]
            if len(faults) == 1:
                return faults[0]
            if len(faults) > 1:
                raise NoLoadData(f"several fault windows, name one: {', '.join(repr(w.name) for w in faults)}")
        raise NoLoadData(f"no load window {name!r}; the run has: {', '.join(repr(n) for n in windows)}")

    def report(self) -> str:
        """The readable report shown when a chaos test fails."""
        from chaoskit.pytest_plugin.report import format_report

        return format_report(self.journal, self.journal_path)

    def assert_passed(self) -> None:
        """Fail the test with the readable report (no traceback) unless the outcome is ``passed``."""
        if not self.passed:
            import pytest

            pytest.fail(self.report(), pytrace=False)

    def compare(self, baseline: str | Path, thresholds: Mapping[str, Any] | None = None) -> Comparison:
        """This run against the baseline runs of its experiment (a baseline folder or file, run folders, journals;
        see ``chaoskit compare``). ``thresholds``: a ``regression:`` block that wins over the experiment's own.
        Raises :class:`chaoskit.compare.summary.NotComparable` when the baseline has no run of this experiment."""
        from chaoskit.compare.rules import compare_runs, resolve
        from chaoskit.compare.summary import by_experiment, load_runs, summarize

        current = summarize(self.journal)
        base = by_experiment(load_runs(Path(baseline))).get(current.experiment, [])
        rules = resolve([self.journal.experiment.get("regression"), dict(thresholds or {})])
        return compare_runs(base, current, rules)

    def assert_no_regression(self, baseline: str | Path, thresholds: Mapping[str, Any] | None = None) -> None:
        """Fail the test with the comparison table when this run regressed against ``baseline``."""
        comparison = self.compare(baseline, thresholds)
        if comparison.regressed:
            import pytest

            from chaoskit.compare.render import markdown

            pytest.fail(markdown([comparison], []), pytrace=False)
