"""Fixtures of the tracing tests (defined in tracekit.py)."""

from tracekit import recorded, traced_service

__all__ = ["recorded", "traced_service"]
