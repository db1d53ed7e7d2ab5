"""``python``: call a function ``module:function`` with arguments, as an action or a probe."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from pydantic import Field, field_validator

from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Action, Context, Probe


class PythonParams(StrictModel):
    function: str = Field(description="'package.module:function'")
    args: list[Any] = Field(default=[])
    kwargs: dict[str, Any] = Field(default={})

    @field_validator("function")
    @classmethod
    def _target(cls, value: str) -> str:
        module, sep, attr = value.partition(":")
        if not sep or not module or not attr:
            raise ValueError(f"{value!r}: expected 'module:function', e.g. 'mychecks.db:ping'")
        return value


def _resolve(target: str, ctx: Context) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    where = str(ctx.work_dir)
    if where not in sys.path:
        sys.path.append(where)  # modules next to the experiment file can be used
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginError(f"python: cannot import {module_name!r}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"python: {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise PluginError(f"python: {target!r} is not callable")
    return obj  # type: ignore[no-any-return]


class PythonAction(Action[PythonParams]):
    """Call a Python function; its return value is recorded."""

    Params = PythonParams

    def run(self, params: PythonParams, ctx: Context) -> Any:
        return _resolve(params.function, ctx)(*params.args, **params.kwargs)


class PythonProbe(Probe[PythonParams]):
    """Call a Python function; its return value (or the Observation it returns) is the observation."""

    Params = PythonParams

    def observe(self, params: PythonParams, ctx: Context) -> Observation:
        value = _resolve(params.function, ctx)(*params.args, **params.kwargs)
        return value if isinstance(value, Observation) else Observation(value)
