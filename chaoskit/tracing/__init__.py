"""Every run recorded as one OpenTelemetry trace: see ``docs/tracing.md`` for the spans, their
attributes and the exporters.

Importing this package is cheap; OpenTelemetry is imported by :func:`run_tracer`, which the runner
calls only when the experiment's ``tracing.enabled`` is true.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaoskit.model.experiment import TracingSpec
    from chaoskit.tracing.recorder import RunTracer


def run_tracer(
    spec: TracingSpec,
    run_dir: Callable[[], Path],
    on_error: Callable[[str, BaseException], None],
    provider: Any = None,
) -> RunTracer:
    """The hook plugin that records one run. ``provider``: an OpenTelemetry TracerProvider of yours
    (chaoskit then writes no file and only flushes it); by default chaoskit builds its own."""
    from chaoskit.tracing.recorder import RunTracer

    return RunTracer(spec, run_dir, on_error, provider)


__all__ = ["run_tracer"]
