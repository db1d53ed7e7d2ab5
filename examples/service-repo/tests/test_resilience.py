"""Resilience tests written in Python with the ``chaos`` fixture (skipped without --chaos)."""

from __future__ import annotations

from typing import Any

from conftest import Stack

from chaoskit.pytest_plugin import Chaos


def catalog_hangs(url: str, pid: int, seconds: str = "2s") -> dict[str, Any]:
    """The same model as a YAML experiment, built in code."""
    return {
        "title": f"{url.rsplit('/', 1)[-1]} while the catalog hangs",
        "steady_state": {
            "strategy": "continuous",
            "frequency": "250ms",
            "probes": [
                {
                    "name": "shop answers",
                    "probe": "http",
                    "with": {"url": url, "timeout": "3s"},
                    "expect": {"status": 200, "latency_ms": {"max": 1500}},
                }
            ],
        },
        "method": [
            {"name": "catalog hangs", "action": "python", "with": {"function": "chaos_actions:freeze", "args": [pid]}},
            {"pause": seconds},
            {"name": "catalog back", "action": "python", "with": {"function": "chaos_actions:thaw", "args": [pid]}},
        ],
        # cleanup on every path out; recovery is judged before it, so it cannot hide a failure to heal
        "rollbacks": [{"action": "python", "with": {"function": "chaos_actions:thaw", "args": [pid]}}],
        "recovery": {"within": "5s", "interval": "250ms"},
        "safety": {"max_duration": "1m"},
    }


def test_cached_products_survive_a_hung_catalog(chaos: Chaos, stack: Stack) -> None:
    result = chaos.run(catalog_hangs(f"{stack.shop_url}/products", stack.catalog_pid))
    result.assert_passed()  # on failure: the readable report, not a traceback
    assert result.recovered_within("2s")


def test_live_products_do_not_survive_a_hung_catalog(chaos: Chaos, stack: Stack) -> None:
    """A known weakness, pinned down: /live-products has no fallback, so it fails while the catalog hangs
    and comes back once the catalog answers again."""
    result = chaos.run(catalog_hangs(f"{stack.shop_url}/live-products", stack.catalog_pid))
    assert result.outcome == "deviated", result.report()
    missed = {(o.probe, o.phase) for o in result.deviations()}
    assert ("shop answers", "method") in missed
    assert result.recovered_within("5s")
