"""Fixtures of the tracing tests (defined in tracekit.py)."""

from tests.tracing.tracekit import collector, recorded, traced_service

__all__ = ["collector", "recorded", "traced_service"]
