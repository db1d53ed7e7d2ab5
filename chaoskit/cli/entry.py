"""Kept for virtualenvs installed while the console script pointed here (before ``uv sync`` reinstalls it):
the script is now :func:`chaoskit.entry.main`, outside this package so it starts before click is imported."""

from chaoskit.entry import main

__all__ = ["main"]
