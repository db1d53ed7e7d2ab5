"""The live timeline's service-level numbers, read each second straight from their sources: the load driver's
per-second series (:meth:`chaoskit.plugin.LoadRun.second`: requests/s, error rate, p95) and, when the run
receives the application's traces (``tracing.receive``), its server spans (spans/s, error rate, p95).

The sampler re-reads the last few seconds on every tick: the load's stats and the spans reach chaoskit a little
after the requests complete, so a second's figures settle over about two seconds."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chaoskit.live.state import LiveState
    from chaoskit.plugin import LoadRun

SETTLE_S = 4
"""How many recent seconds each tick reads again."""


def load_values(load: LoadRun, t: int) -> dict[str, float]:
    found = load.second(t)
    if found is None:
        return {}
    values: dict[str, float] = {}
    if found.get("rps") is not None:
        values["load rps"] = float(found["rps"] or 0.0)
    if found.get("error_rate") is not None:
        values["load error %"] = round(100.0 * float(found["error_rate"] or 0.0), 2)
    if found.get("p95_ms") is not None:
        values["load p95 ms"] = float(found["p95_ms"] or 0.0)
    return values


def trace_values(run_id: str, t: int) -> dict[str, float]:
    from chaoskit.tracing.receive import active_store

    store = active_store(run_id)
    if store is None:
        return {}
    from chaoskit.tracing.spanstore import SpanFilter

    stats = store.window(t, t + 1, SpanFilter(kind="server"))
    if not stats.count:
        return {}
    values = {"trace spans/s": float(stats.count), "trace error %": round(100.0 * (stats.error_rate or 0.0), 2)}
    p95 = stats.percentile(95)
    if p95 is not None:
        values["trace p95 ms"] = float(p95)
    return values


def sample(state: LiveState, seconds: int = SETTLE_S) -> None:
    """Read the last ``seconds`` whole seconds from the current run's load and traces into ``state``."""
    load, run_id = state.sources()
    now = int(time.time())
    for t in range(now - seconds, now):
        values = {**(load_values(load, t) if load is not None else {}), **(trace_values(run_id, t) if run_id else {})}
        if values:
            state.put(t, values)


def start_sampler(state: LiveState, stop: threading.Event, interval: float = 1.0) -> threading.Thread:
    """A daemon thread that samples every ``interval`` seconds until ``stop`` is set."""

    def loop() -> None:
        while not stop.wait(interval):
            try:
                sample(state)
            except Exception as exc:  # a live view never breaks a run; say why the numbers stopped
                state.sampler_error(f"{type(exc).__name__}: {exc}")
                return

    thread = threading.Thread(target=loop, name="chaoskit-live-sli", daemon=True)
    thread.start()
    return thread
