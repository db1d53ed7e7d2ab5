"""Journals built in code, shaped exactly like the runner and the locust driver write them, to test the
report's arithmetic on known numbers (the end-to-end test renders a real game day's journals)."""

from __future__ import annotations

from typing import Any

from chaoskit.model.journal import FaultRecord, Journal, ObservationRecord, Outcome, PhaseRecord

T0 = 1_800_000_000.0


def loaded_journal(
    outcome: Outcome = Outcome.DEVIATED,
    fault_error_rate: float = 0.2,
    fault_p95_ms: float = 1500.0,
    ttr_s: float | None = 2.0,
    reason: str = "checkout: latency_ms 1523 > max 800",
) -> Journal:
    """30 s of load at 20 rps: baseline 0-8 s, a fault 10-20 s, recovery from 21 s."""
    series: list[dict[str, Any]] = []
    for s in range(30):
        in_fault = 10 <= s < 20
        failures = round(20 * fault_error_rate) if in_fault else 0
        series.append(
            {
                "t": int(T0) + s,
                "requests": 20,
                "failures": failures,
                "p50_ms": 20.0,
                "p95_ms": fault_p95_ms if in_fault else 40.0,
                "p99_ms": 60.0,
            }
        )
    phases = [
        PhaseRecord(name="warmup", started_at=T0, ended_at=T0 + 3),
        PhaseRecord(name="baseline", started_at=T0 + 3, ended_at=T0 + 8),
        PhaseRecord(name="method", started_at=T0 + 8, ended_at=T0 + 20.5),
        PhaseRecord(name="revert", started_at=T0 + 20.5, ended_at=T0 + 21),
        PhaseRecord(name="recovery", started_at=T0 + 21, ended_at=T0 + 23),
    ]
    fault = FaultRecord(
        name="slow payments",
        plugin="toxiproxy.latency",
        params={"proxy": "payments", "latency_ms": 1500},
        ledger_id="x1",
        injected_at=T0 + 10,
        reverted_at=T0 + 20.5,
    )
    observations = []
    for s in range(3, 23):
        bad = 10 <= s < 21
        phase = "baseline" if s < 8 else ("method" if s < 21 else "recovery")
        observations.append(
            ObservationRecord(
                probe="checkout",
                plugin="http",
                phase=phase,
                started_at=T0 + s,
                duration_s=0.01,
                ok=not bad,
                reason="latency_ms 1523 > max 800" if bad else "",
            )
        )
    return Journal(
        run_id="abc123def456",
        chaoskit_version="0.1.0",
        title="Shop: slow payments",
        source="x.yaml",
        experiment={"title": "Shop: slow payments", "recovery": {"within": 20.0, "interval": 0.5}},
        started_at=T0,
        ended_at=T0 + 30,
        outcome=outcome,
        exit_code=outcome.exit_code,
        reason=reason,
        ttr_s=ttr_s,
        phases=phases,
        observations=observations,
        faults=[fault],
        load={"series": series},
    )
