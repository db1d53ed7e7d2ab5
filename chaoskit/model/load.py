"""``journal.load``: what a load driver reports at the end of a run (:meth:`chaoskit.plugin.LoadRun.report`).

The report, ``chaoskit compare``, the pytest plugin's result and its terminal report all read this one model. The
JSON shape is the one drivers have always written (so old journals still load)::

    {"driver": "locust", "started_at": 1.7e9, "ended_at": 1.7e9,
     "total": {"requests": 1200, "failures": 3, "error_rate": 0.0025, "rps": 40.0, "p50_ms": 8.1, ...},
     "windows": [{"name": "baseline", "started_at": 1.7e9, "ended_at": 1.7e9, "requests": 1200, ...},
                 {"name": "fault:slow db", ...}],
     "recovery": {"recovered": true, "ttr_s": 2.0, "reason": "...", "tolerance": {...}, ...},
     "ttr_s": 2.0,
     "series": [{"t": 1700000000, "requests": 40, "failures": 0, "p95_ms": 12.5, ...}, ...],
     ...}                                   # anything else the driver reports (mode, endpoints, ...)

Window names are the run's phases (``baseline``, ``method``, ``recovery``, ...) and one ``fault:<name>`` per fault,
as the runner passes them to ``report``. A driver may also give ``windows`` as a mapping ``{name: {...}}`` and
``series`` as ``{"total": [...]}``; both are read into the list form.

Keys chaoskit does not know are not errors here: a load report is a driver's output, not user input. They are
kept, typed as JSON, in ``other`` and written back at the top level of their object, so a journal keeps every
key its driver reported (every model here still forbids extra attributes; ``other`` is where they go).
"""

import math
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)


class _Open(BaseModel):
    """A driver's object: known keys typed, the rest in ``other`` (and written back where they were)."""

    model_config = ConfigDict(extra="forbid")

    other: dict[str, JsonValue] = Field(default={}, description="Keys chaoskit does not know.")

    @model_validator(mode="before")
    @classmethod
    def _gather(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields) - {"other"}
        kept = {k: v for k, v in data.items() if k in known}
        other = {str(k): v for k, v in data.items() if k not in known and k != "other"}
        return {**kept, "other": {**(data.get("other") or {}), **other}}

    @model_serializer(mode="wrap")
    def _flatten(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        out = {k: v for k, v in data.items() if k != "other" and k in self.model_fields_set}
        return {**out, **self.other}


def _number(value: Any) -> float | None:
    """A finite number, else None (drivers may write null, a string or NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class LoadStats(_Open):
    """Aggregated load metrics over a span of the run."""

    requests: int | float | None = None  # an int stays an int (the JSON keeps its shape)
    failures: int | float | None = None
    error_rate: float | None = Field(default=None, description="failures / requests (derived when left out).")
    rps: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None

    def metric(self, name: str) -> float | None:
        """A metric by name (``error_rate`` derived from requests/failures when missing); None when absent."""
        if name == "error_rate" and self.error_rate is None and self.requests is not None and self.failures is not None:
            return self.failures / self.requests if self.requests else 0.0
        value = getattr(self, name) if name in LoadStats.model_fields and name != "other" else self.other.get(name)
        return _number(value)

    def metrics(self) -> dict[str, float]:
        """Every numeric metric this object has."""
        names = [n for n in LoadStats.model_fields if n != "other"] + list(self.other)
        found = {n: self.metric(n) for n in names}
        return {n: v for n, v in found.items() if v is not None}


class LoadWindow(LoadStats):
    """One window of the run (a phase, or ``fault:<name>``) with the driver's own stats for it."""

    name: str = ""
    started_at: float | None = None
    ended_at: float | None = None


class LoadPoint(LoadStats):
    """One second of the load (``t``: epoch second)."""

    t: int | float


class LoadRecovery(_Open):
    """Time to recovery measured on the load after the last revert."""

    recovered: bool | None = None
    recovered_at: float | None = None
    ttr_s: float | None = None
    reason: str = ""
    last_revert_at: float | None = None
    judged_from: float | None = None
    tolerance: dict[str, JsonValue] = Field(default={})


class LoadReport(_Open):
    driver: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    total: LoadStats | None = None
    windows: list[LoadWindow] = Field(default=[])
    recovery: LoadRecovery | None = None
    ttr_s: float | None = Field(default=None, description="Load-derived time to recovery after the last revert.")
    series: list[LoadPoint] = Field(default=[], description="Per-second totals.")

    @model_validator(mode="before")
    @classmethod
    def _forms(cls, data: Any) -> Any:
        """The other forms drivers write: ``windows`` as ``{name: {...}}``, ``series`` as ``{"total": [...]}``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        windows = data.get("windows")
        if isinstance(windows, dict):
            data["windows"] = [{**w, "name": str(n)} for n, w in windows.items() if isinstance(w, dict)]
        series = data.get("series")
        if isinstance(series, dict):
            data["series"] = series.get("total") or series.get("__total__") or []
        if isinstance(data.get("series"), list):
            data["series"] = [p for p in data["series"] if isinstance(p, dict) and _number(p.get("t")) is not None]
        return data

    def window(self, name: str, started_at: float | None = None) -> LoadWindow | None:
        """The driver's window called ``name`` (starting within 1 s of ``started_at`` when both are known)."""
        for w in self.windows:
            if w.name == name and (started_at is None or w.started_at is None or abs(w.started_at - started_at) < 1):
                return w
        return None


__all__ = ["LoadPoint", "LoadRecovery", "LoadReport", "LoadStats", "LoadWindow"]
