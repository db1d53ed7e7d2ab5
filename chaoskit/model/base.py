"""Shared model configuration: strict, frozen, unknown keys are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for every chaoskit model and for plugin parameter models."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
