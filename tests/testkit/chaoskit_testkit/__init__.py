"""Test-only plugins whose effects are real files, so tests can check reverts from outside the process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import Field

from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Action, Context, Fault, Probe


class MarkerParams(StrictModel):
    path: str = Field(description="File created on inject, removed on revert.")
    inject_delay: float = Field(default=0.0, ge=0, description="Seconds inject takes (to test timeouts).")
    fail_inject: bool = False
    fail_revert: bool = False


class MarkerFault(Fault[MarkerParams]):
    """Create a marker file; revert removes it."""

    Params = MarkerParams

    def plan(self, params: MarkerParams, ctx: Context) -> dict[str, Any]:
        return {"path": str(Path(ctx.work_dir, params.path).resolve()), "fail_revert": params.fail_revert}

    def inject(self, params: MarkerParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        Path(info["path"]).write_text(ctx.run_id)
        if params.inject_delay:
            time.sleep(params.inject_delay)
        if params.fail_inject:
            raise PluginError("marker: inject failed on purpose")
        return None

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        if info.get("fail_revert"):
            raise PluginError("marker: revert failed on purpose")
        Path(info["path"]).unlink(missing_ok=True)


class FileParams(StrictModel):
    path: str


class FileExistsProbe(Probe[FileParams]):
    """Whether a file exists."""

    Params = FileParams

    def observe(self, params: FileParams, ctx: Context) -> Observation:
        return Observation(Path(ctx.work_dir, params.path).exists())


class SleepParams(StrictModel):
    seconds: float = 0.0


class SleepProbe(Probe[SleepParams]):
    """Sleep, then observe True (to test probe timeouts)."""

    Params = SleepParams

    def observe(self, params: SleepParams, ctx: Context) -> Observation:
        time.sleep(params.seconds)
        return Observation(True)


class FailAction(Action[SleepParams]):
    """Always fails."""

    Params = SleepParams

    def run(self, params: SleepParams, ctx: Context) -> Any:
        raise PluginError("testkit.fail: failing on purpose")
