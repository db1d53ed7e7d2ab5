"""Many API calls at once, bounded: the deletes and evictions of many pods.

At most ``concurrency`` calls run at the same time (threads sharing the client's connection pool). A
``429 Too Many Requests`` from API priority and fairness is waited out as the server asks (``Retry-After``,
capped at :data:`MAX_WAIT`) and retried until the deadline. An eviction refused by a PodDisruptionBudget is a
429 too; it is retried only when the caller says so (``k8s.node_drain``, like ``kubectl drain``), every
``budget_retry`` seconds until the deadline. Calls not started by the deadline are not made.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from chaoskit_kubernetes.connection import POOL_SIZE, KubeError

T = TypeVar("T")
R = TypeVar("R")
MAX_WAIT = 10.0  # longest wait for one Retry-After
DEFAULT_WAIT = 1.0  # a 429 without Retry-After
DEFAULT_CONCURRENCY = 64  # at 5,000 pods, 500 deletes finished sooner than at 32 (bench/README.md, k8s_scale)
INJECT_BUDGET = 25.0  # seconds a fault keeps retrying 429s when the step's timeout is unknown
CALL_ESTIMATE_S = 0.1  # planning estimate of one delete/eviction (measured 8-25 ms on a loaded 2-core machine)
CONCURRENCY_HELP = (
    "At most this many API calls at once (a 429 Too Many Requests is retried after the server's Retry-After)."
)


def check_time(ctx: Context, what: str, calls: int, concurrency: int, own: float | None = None) -> None:
    """Refuse at plan time a step timeout too short for ``calls`` API calls at ``concurrency`` (estimated at
    :data:`CALL_ESTIMATE_S` each), or shorter than the fault's ``own`` timeout."""
    if ctx.timeout is None:
        return
    if own is not None and own >= ctx.timeout:
        raise PluginError(
            f"{what}: its timeout ({own:g}s) must be below the step's timeout ({ctx.timeout:g}s); "
            "lower it or raise the step's `timeout`"
        )
    needed = math.ceil(calls / max(1, min(concurrency, POOL_SIZE))) * CALL_ESTIMATE_S
    if needed > ctx.timeout * 0.8:
        raise PluginError(
            f"{what}: {calls} API calls at concurrency {concurrency} need about {needed:.0f}s, too close to the "
            f"step's timeout ({ctx.timeout:g}s); raise the step's `timeout` to at least {math.ceil(needed / 0.8)}s "
            "or the fault's `concurrency`"
        )


def deadline(ctx: Context, own: float | None = None) -> float:
    """When a fault stops retrying: after its ``own`` timeout, and before the step's timeout cuts it off."""
    budget = 0.9 * ctx.timeout if ctx.timeout is not None else INJECT_BUDGET
    return time.monotonic() + (budget if own is None else min(own, budget))


def retrying(fn: Callable[[], R], deadline: float, budget_retry: float | None = None) -> R:
    """``fn()``, retried on a 429 as described above; the last refusal is raised once the deadline is near."""
    tries = 0
    while True:
        tries += 1
        try:
            return fn()
        except KubeError as exc:
            if exc.status != 429 or (exc.budget and budget_retry is None):
                raise
            wait = budget_retry if exc.budget and budget_retry is not None else exc.retry_after
            wait = min(DEFAULT_WAIT if wait is None else wait, MAX_WAIT)
            if time.monotonic() + wait > deadline:
                if tries == 1:
                    raise
                raise KubeError(
                    f"{exc} (still refused after {tries} attempts)", exc.status, exc.retry_after, exc.budget
                ) from exc
            time.sleep(wait)


def for_each(
    items: list[T], fn: Callable[[T], R], concurrency: int, deadline: float
) -> list[tuple[T, R | PluginError]]:
    """``fn(item)`` for every item, at most ``concurrency`` at once; results (or the PluginError each call
    raised) in the items' order. Items not started before ``deadline`` get a PluginError saying so."""

    def one(item: T) -> R | PluginError:
        if time.monotonic() >= deadline:
            return PluginError("not attempted: the time for the fault ran out before this call")
        try:
            return fn(item)
        except PluginError as exc:
            return exc
        except Exception as exc:  # e.g. the connection dropped while the answer was read
            return PluginError(f"{item}: {type(exc).__name__}: {exc}")

    workers = max(1, min(concurrency, POOL_SIZE, len(items)))
    if workers == 1:
        return [(item, one(item)) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chaoskit-k8s") as pool:
        return list(zip(items, pool.map(one, items), strict=True))


def failures(results: list[tuple[T, R | PluginError]]) -> list[tuple[T, PluginError]]:
    return [(item, r) for item, r in results if isinstance(r, PluginError)]


def summary(failed: list[tuple[str, PluginError]], total: int, cap: int = 3) -> str:
    """``N of M failed: <first cap errors>; ...`` for an error message."""
    shown = "; ".join(str(err) for _, err in failed[:cap])
    more = f"; and {len(failed) - cap} more" if len(failed) > cap else ""
    return f"{len(failed)} of {total} failed: {shown}{more}"
