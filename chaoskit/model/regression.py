"""The ``regression:`` block of an experiment: what ``chaoskit compare`` counts as a regression of this experiment
(the rule itself: :mod:`chaoskit.compare.rules`)."""

from pydantic import Field, field_validator

from chaoskit.model.base import StrictModel

FAMILIES = (
    "ttr_s",
    "load_ttr_s",
    "trace_ttr_s",
    "score",
    "error_rate",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "rps",
    "misses",
)


class Threshold(StrictModel):
    relative: float | None = Field(default=None, ge=0, le=1000, description="A share of the baseline mean (0.25).")
    absolute: float | None = Field(default=None, ge=0, le=1e9, description="In the metric's unit (s, 0..1, ms...).")


class Regression(StrictModel):
    """Thresholds per metric family, and the noise band; a metric regresses only beyond all of them."""

    noise: float = Field(default=3.0, ge=0, le=100, description="Standard deviations of the baseline runs.")
    thresholds: dict[str, Threshold] = Field(default={}, description=f"Per metric family: {', '.join(FAMILIES)}.")

    @field_validator("thresholds")
    @classmethod
    def _known(cls, value: dict[str, Threshold]) -> dict[str, Threshold]:
        unknown = sorted(set(value) - set(FAMILIES))
        if unknown:
            raise ValueError(
                f"unknown metric famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
                f"(known: {', '.join(FAMILIES)})"
            )
        return value
