"""A hook that never returns cannot hold faults in place: ``safety.max_duration`` cuts it (the hook is abandoned in
its worker thread), every fault is reverted, and the run ends ``aborted`` saying why. Past the wall a hung hook
gets a short grace (``HOOK_GRACE_S``) while faults are still in place, so it cannot delay the reverts either."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaoskit import Outcome
from chaoskit.hooks import hookimpl
from chaoskit.ledger import pending_ledgers
from chaoskit.run.events import HOOK_GRACE_S
from tests.core.test_runner import marker, run


@pytest.fixture
def forever() -> Iterator[threading.Event]:
    """What a hung hook waits on; set when the test ends, so no abandoned thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


class HangsOnInject:
    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.entered = threading.Event()

    @hookimpl
    def chaoskit_fault_injected(self) -> None:
        self.entered.set()
        self.release.wait()  # sleeps until the test is over: "forever" for the run


class HangsInEveryPhaseAfterInject:
    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.injected = False
        self.hung: list[str] = []

    @hookimpl
    def chaoskit_fault_injected(self) -> None:
        self.injected = True

    @hookimpl
    def chaoskit_phase_started(self, phase: str) -> None:
        if self.injected:
            self.hung.append(phase)
            self.release.wait()


class HangsAtStart:
    def __init__(self, release: threading.Event) -> None:
        self.release = release

    @hookimpl
    def chaoskit_run_started(self) -> None:
        self.release.wait()


def test_a_hook_that_never_returns_is_cut_by_max_duration_and_the_fault_is_reverted(
    tmp_path: Path, forever: threading.Event
) -> None:
    hook = HangsOnInject(forever)
    started = time.monotonic()
    journal = run(
        tmp_path,
        {"title": "hung hook", "method": [marker(duration="30s")], "safety": {"max_duration": "2s"}},
        hooks=[hook],
    )
    assert hook.entered.is_set() and not forever.is_set()  # the hook was hanging when the run ended
    assert journal.outcome == Outcome.ABORTED and journal.exit_code == 3
    assert journal.reason == "safety.max_duration (2s) reached"
    (fault,) = journal.faults
    assert fault.reverted_at is not None and not (tmp_path / "marker").exists()
    print(f"fault reverted {fault.reverted_at - journal.started_at - 2.0:.3f}s after max_duration")
    assert fault.reverted_at - journal.started_at < 2.0 + 5.0  # not the 30 s hold, nor forever
    (error,) = [e for e in journal.errors if e.where.startswith("hook chaoskit_fault_injected")]
    assert error.type == "HookAbandoned" and "safety.max_duration" in error.message
    assert time.monotonic() - started < 15
    assert pending_ledgers() == []


def test_hooks_hung_past_the_wall_get_a_short_grace_and_do_not_hold_the_reverts(
    tmp_path: Path, forever: threading.Event
) -> None:
    hook = HangsInEveryPhaseAfterInject(forever)
    journal = run(
        tmp_path,
        {"title": "hung phase hooks", "method": [marker(duration="30s")], "safety": {"max_duration": "2s"}},
        hooks=[hook],
    )
    assert journal.outcome == Outcome.ABORTED and journal.reason == "safety.max_duration (2s) reached"
    assert hook.hung == ["revert"]  # the revert phase's hook hung, past the wall, with the fault in place
    (fault,) = journal.faults
    assert fault.reverted_at is not None and not (tmp_path / "marker").exists()
    overrun = fault.reverted_at - journal.started_at - 2.0
    print(f"fault reverted {overrun:.3f}s after max_duration (hook grace {HOOK_GRACE_S:g}s)")
    assert overrun >= HOOK_GRACE_S  # the revert did wait for the grace, and no longer than a bounded while
    assert overrun < HOOK_GRACE_S + 5.0
    errors = [e for e in journal.errors if e.where.startswith("hook chaoskit_phase_started")]
    assert [e.type for e in errors] == ["HookAbandoned"] and f"within {HOOK_GRACE_S:g}s" in errors[0].message


def test_a_run_start_hook_that_never_returns_ends_the_run_aborted_with_nothing_injected(
    tmp_path: Path, forever: threading.Event
) -> None:
    journal = run(
        tmp_path,
        {"title": "hung start", "method": [marker()], "safety": {"max_duration": "1s"}},
        hooks=[HangsAtStart(forever)],
    )
    assert journal.outcome == Outcome.ABORTED and journal.reason == "safety.max_duration (1s) reached"
    assert journal.faults == [] and not (tmp_path / "marker").exists()
    assert any(e.type == "HookAbandoned" for e in journal.errors)


def test_a_run_in_another_thread_cuts_its_hung_hooks_too(tmp_path: Path, forever: threading.Event) -> None:
    """The bound follows the thread that runs the phases, not the main thread (an embedding app's worker)."""
    done: list[Any] = []
    doc = {"title": "hung hook, thread", "method": [marker(duration="30s")], "safety": {"max_duration": "2s"}}
    runner = threading.Thread(
        target=lambda: done.append(run(tmp_path, doc, hooks=[HangsOnInject(forever)], handle_signals=False))
    )
    runner.start()
    runner.join(timeout=20)
    assert not runner.is_alive(), "the run was held by its hook"
    (journal,) = done
    assert journal.outcome == Outcome.ABORTED and journal.reason == "safety.max_duration (2s) reached"
    assert not (tmp_path / "marker").exists() and journal.faults[0].reverted_at is not None
