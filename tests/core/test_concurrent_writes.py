"""Writes to a run's journal from several threads lose nothing: errors recorded from many threads at once (each
once, duplicates dropped), and a run whose monitor probes every 10 ms while the main thread probes too."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from chaoskit import Outcome, RunOptions, validate_document
from chaoskit.hooks import hookimpl
from chaoskit.model.journal import Journal, ObservationRecord
from chaoskit.run.state import RunState
from chaoskit.runner import Runner
from tests.conftest import HttpService
from tests.core.test_runner import health, marker, run


def test_errors_recorded_from_many_threads_at_once_are_each_kept_once(tmp_path: Path) -> None:
    runner = Runner(validate_document({"title": "t", "method": [marker()]}), RunOptions(out_dir=tmp_path))
    start = threading.Barrier(8)

    def record(n: int) -> None:
        start.wait()
        for i in range(200):
            runner.record_error(f"thread {n}", RuntimeError(f"error {i}"))  # distinct per thread
            runner.record_error("shared", RuntimeError(f"error {i % 50}"))  # the same 50 from every thread

    threads = [threading.Thread(target=record, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wheres = [e.where for e in runner.journal.errors]
    assert len(wheres) == 8 * 200 + 50
    assert wheres.count("shared") == 50 and all(wheres.count(f"thread {n}") == 200 for n in range(8))


class Count:
    def __init__(self) -> None:
        self.probes = 0
        self.lock = threading.Lock()

    @hookimpl
    def chaoskit_activity_finished(self, kind: str) -> None:
        if kind == "probe":
            with self.lock:
                self.probes += 1


def test_monitor_and_main_thread_observations_are_all_journaled(tmp_path: Path, http_service: HttpService) -> None:
    count = Count()
    steps: list[dict[str, Any]] = [marker(duration="1500ms", background=True)]
    steps += [{"probe": "http", "name": f"step {i}", "with": {"url": f"{http_service.url}/"}} for i in range(30)]
    journal = run(
        tmp_path,
        {
            "title": "busy",
            "steady_state": {"strategy": "continuous", "frequency": "10ms", "probes": [health(http_service)]},
            "method": steps,
            "safety": {"interval": "10ms", "abort_when": [health(http_service, status=[599])]},
        },
        hooks=[count],
    )
    assert journal.outcome == Outcome.PASSED, journal.reason
    phases = {o.phase for o in journal.observations}
    assert {"method", "safety", "baseline", "recovery"} <= phases
    assert len(journal.observations) == count.probes  # every probe result the hooks saw is in the journal
    assert sum(1 for o in journal.observations if o.phase == "method") > 30  # monitor and steps both probed


def _record(n: int) -> ObservationRecord:
    return ObservationRecord(probe=f"p{n}", plugin="http", phase="method", started_at=0.0, duration_s=0.0, ok=True)


def test_observations_from_many_threads_are_all_kept_and_none_after_stale_or_seal() -> None:
    state = RunState(Journal(run_id="r", chaoskit_version="0", title="t", experiment={}, started_at=0.0))
    stale = threading.Event()
    start = threading.Barrier(8)
    kept = [0] * 8

    def observe(n: int) -> None:
        start.wait()
        for i in range(500):
            kept[n] += state.observe(_record(i), stale if n % 2 else None)
            if n == 1 and i == 250:
                with state.lock:  # as Monitor.stop does: after this no stale observation enters the journal
                    stale.set()
                    seen = state.observation_count()
                assert state.observation_count() >= seen

    threads = [threading.Thread(target=observe, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(state.journal.observations) == sum(kept)
    assert all(kept[n] == 500 for n in range(0, 8, 2))  # the threads without a stale event lost nothing
    assert kept[1] == 251  # the thread that set its own stale event stopped right after
    state.seal()
    assert not state.observe(_record(0))
    assert len(state.journal.observations) == sum(kept)
    state.record_error("after seal", RuntimeError("run-finished hook"))  # errors are still kept after the seal
    assert [e.where for e in state.journal.errors] == ["after seal"]


def test_deviations_notes_and_aborts_from_many_threads_lose_nothing_and_the_first_abort_wins() -> None:
    state = RunState(Journal(run_id="r", chaoskit_version="0", title="t", experiment={}, started_at=0.0))
    start = threading.Barrier(8)
    won: list[tuple[int, bool]] = []

    def write(n: int) -> None:
        start.wait()
        for i in range(300):
            state.deviate(f"{n}:{i}")
            state.note(f"{n}:{i}")
        won.append((n, state.request_abort(f"thread {n}")))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(state.deviations) == sorted(f"{n}:{i}" for n in range(8) for i in range(300))
    assert sorted(state.continued) == sorted(state.deviations)
    (winner,) = [n for n, first in won if first]  # exactly one request set the abort
    assert state.abort.is_set() and state.abort_reason == f"thread {winner}"
