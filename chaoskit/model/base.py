"""Shared model configuration: strict, frozen, unknown keys are errors."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from chaoskit.entrypoints import share_with_pydantic

share_with_pydantic()  # before the first model: pydantic's plugins from chaoskit's one entry-point scan


class StrictModel(BaseModel):
    """Base for every chaoskit model and for plugin parameter models."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


Regex = Annotated[str, AfterValidator(_compiles)]
"""A field type for a regular expression: checked to compile when the experiment is validated."""
