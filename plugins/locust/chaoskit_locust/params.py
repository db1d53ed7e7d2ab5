"""The ``load:`` block (``driver: locust``) and the load probes' parameters."""

from __future__ import annotations

from pydantic import Field, model_validator

from chaoskit.durations import Duration
from chaoskit.model.base import StrictModel


class RecoveryTolerance(StrictModel):
    """When the load stream counts as recovered (for the load-derived time-to-recovery)."""

    error_rate_max: float = Field(default=0.01, ge=0, le=1, description="Highest error rate of a healthy second.")
    latency_ms_max: float | None = Field(
        default=None, gt=0, description="Optional: highest latency (at `percentile`) of a healthy second, in ms."
    )
    percentile: float = Field(default=95, gt=0, le=100, description="The percentile latency_ms_max applies to.")
    hold: Duration = Field(default=3.0, gt=0, description="Healthy seconds needed in a row to call it recovered.")
    endpoint: str | None = Field(default=None, description="Judge one endpoint (request name) instead of the total.")


class LocustParams(StrictModel):
    locustfile: str | None = Field(
        default=None, description="Your locustfile, unchanged; a relative path is relative to the experiment file."
    )
    host: str | None = Field(default=None, description="Base URL for HttpUser/FastHttpUser (Locust's --host).")
    users: int = Field(default=1, ge=1, description="Number of concurrent users.")
    spawn_rate: float = Field(default=10.0, gt=0, description="Users started per second.")
    user_classes: list[str] = Field(default=[], description="Only these User classes (default: all).")
    tags: list[str] = Field(default=[], description="Only tasks with one of these tags.")
    exclude_tags: list[str] = Field(default=[], description="Skip tasks with one of these tags.")
    warmup: Duration = Field(default=0.0, ge=0, description="Let the load settle this long before the baseline.")
    workers: int = Field(
        default=0, ge=0, le=64, description="Locust master/worker mode with N local worker processes (0: one process)."
    )
    master: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="An external Locust master's web UI (http://host:8089): chaoskit starts the swarm there, "
        "reads stats from it and stops it.",
    )
    recovery: RecoveryTolerance = Field(default_factory=RecoveryTolerance)
    headers_interval: Duration = Field(
        default=0.25,
        ge=0.05,
        le=10,
        description="How often the trace headers (traceparent, baggage with the faults in place) are checked and, "
        "if changed, pushed to the load's requests.",
    )
    start_timeout: Duration = Field(
        default=60.0, gt=0, le=110, description="The load must be running within this (the runner allows 120 s)."
    )
    stop_timeout: Duration = Field(default=10.0, gt=0, description="Graceful stop; then the child is killed.")
    stall_timeout: Duration = Field(
        default=10.0, gt=0, description="No stats from the load for this long is an error (a hung child)."
    )
    max_lifetime: Duration = Field(
        default=3600.0, gt=0, description="Hard cap on the child's life, even if chaoskit cannot stop it."
    )

    @model_validator(mode="after")
    def _one_source(self) -> LocustParams:
        if self.master is not None:
            if self.workers:
                raise ValueError("give either master (an external master) or workers (local ones), not both")
            if self.locustfile is not None:
                raise ValueError("with master, the master runs its own locustfile: remove locustfile")
        elif self.locustfile is None:
            raise ValueError("locustfile is required (or master: the URL of an external Locust master)")
        return self


class WindowParams(StrictModel):
    last: Duration = Field(default=10.0, gt=0, description="The window: the last N seconds of load.")
    endpoint: str | None = Field(default=None, description="One endpoint (Locust's request name); default: all.")


class LatencyParams(WindowParams):
    percentile: float = Field(default=95, gt=0, le=100, description="Which latency percentile, e.g. 95 or 99.")
