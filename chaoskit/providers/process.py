"""``process``: run a command with a timeout, as an action or a probe."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from pydantic import Field

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.model.tolerance import Observation
from chaoskit.plugin import Action, Context, Probe

_KEEP = 4000  # characters of output kept in the journal


class ProcessParams(StrictModel):
    command: list[str] | str = Field(description="argv list, or a string split like a shell would (no shell).")
    shell: bool = Field(default=False, description="Run the string through /bin/sh.")
    timeout: Duration = Field(default=30.0, gt=0, description="Kill the process after this long.")
    cwd: str | None = Field(default=None, description="Working directory (relative to the experiment file).")
    env: dict[str, str] = Field(default={}, description="Extra environment variables.")
    ok_exit_codes: list[int] = Field(default=[0], description="Actions: exit codes that count as success.")


def _argv(params: ProcessParams) -> list[str] | str:
    """The command as ``subprocess.run`` takes it: a string for a shell, an argv list without one."""
    command = params.command
    if isinstance(command, str) == params.shell:
        return command
    import shlex  # only to join or split a command: most are argv lists run without a shell

    return shlex.split(command) if isinstance(command, str) else shlex.join(command)


def _run(params: ProcessParams, ctx: Context) -> subprocess.CompletedProcess[str]:
    argv = _argv(params)
    cwd = ctx.work_dir / params.cwd if params.cwd else ctx.work_dir
    try:
        return subprocess.run(
            argv,
            shell=params.shell,
            cwd=Path(cwd),
            env={**os.environ, **params.env},
            capture_output=True,
            text=True,
            timeout=params.timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PluginError(f"process {params.command!r} did not exit within {params.timeout:g}s; killed") from None
    except OSError as exc:
        raise PluginError(f"process {params.command!r} could not start: {exc}") from exc


def _output(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return {"exit_code": proc.returncode, "stdout": proc.stdout[-_KEEP:], "stderr": proc.stderr[-_KEEP:]}


class ProcessAction(Action[ProcessParams]):
    """Run a command; an exit code outside ok_exit_codes (default [0]) fails the step."""

    Params = ProcessParams

    def run(self, params: ProcessParams, ctx: Context) -> Any:
        proc = _run(params, ctx)
        if proc.returncode not in params.ok_exit_codes:
            tail = (proc.stderr or proc.stdout).strip()[-500:]
            raise PluginError(
                f"process {params.command!r} exited with {proc.returncode}" + (f": {tail}" if tail else "")
            )
        return _output(proc)


class ProcessProbe(Probe[ProcessParams]):
    """Run a command; the observation's value is the exit code, with stdout/stderr as details."""

    Params = ProcessParams

    def observe(self, params: ProcessParams, ctx: Context) -> Observation:
        proc = _run(params, ctx)
        return Observation(proc.returncode, _output(proc))
