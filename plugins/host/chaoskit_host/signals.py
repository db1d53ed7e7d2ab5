"""``host.kill`` and ``host.pause``: signals to the selected processes, always checked against pid + start time."""

from __future__ import annotations

import shlex
import signal
import subprocess
import tempfile
import time
from typing import Any

from pydantic import Field, field_validator

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.plugin import Context, Fault
from chaoskit_host import procfs
from chaoskit_host.targets import TargetParams, describe_targets, resolve


def signal_name(value: Any) -> str:
    """``9``, ``"KILL"``, ``"sigterm"`` -> the canonical name (``SIGKILL``, ``SIGTERM``)."""
    if isinstance(value, bool):
        raise ValueError("a signal is a name such as SIGTERM or a number, not a boolean")
    try:
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            return signal.Signals(int(value)).name
        text = str(value).strip().upper()
        return signal.Signals[text if text.startswith("SIG") else f"SIG{text}"].name
    except (KeyError, ValueError):
        raise ValueError(f"unknown signal {value!r}: use a name such as SIGTERM, SIGKILL, SIGHUP or a number") from None


class KillParams(TargetParams):
    signal: str = Field(default="SIGKILL", description="The signal to send (name or number).")
    wait: Duration = Field(default=5.0, ge=0, le=60, description="How long to wait for the processes to exit.")
    restart: list[str] | str | None = Field(
        default=None, description="A command run after the kill (argv list, or a string split like a shell would)."
    )
    restart_shell: bool = Field(default=False, description="Run the restart string through /bin/sh.")
    restart_timeout: Duration = Field(default=20.0, gt=0, le=600, description="Kill the restart command after this.")

    @field_validator("signal", mode="before")
    @classmethod
    def _known(cls, value: Any) -> str:
        name = signal_name(value)
        if name in ("SIGSTOP", "SIGCONT", "SIGTSTP"):
            raise ValueError(f"{name} does not kill; use the host.pause fault, which also resumes the process")
        return name


def run_restart(params: KillParams, ctx: Context) -> dict[str, Any]:
    """Run the restart command. Output goes to files, not pipes, so a service it starts in the
    background cannot hold the call open; it runs in its own session, detached from chaoskit."""
    assert params.restart is not None
    if params.restart_shell:
        argv: list[str] | str = params.restart if isinstance(params.restart, str) else shlex.join(params.restart)
    else:
        argv = shlex.split(params.restart) if isinstance(params.restart, str) else list(params.restart)
    shown = params.restart if isinstance(params.restart, str) else shlex.join(params.restart)
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                argv,
                shell=params.restart_shell,
                cwd=ctx.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise PluginError(f"host.kill: restart command {shown!r} could not start: {exc}") from exc
        try:
            code = proc.wait(timeout=params.restart_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise PluginError(
                f"host.kill: restart command {shown!r} did not exit within {params.restart_timeout:g}s; killed"
            ) from None
        out.seek(0)
        output = out.read()[-2000:].decode(errors="replace")
    if code != 0:
        raise PluginError(f"host.kill: restart command {shown!r} exited with {code}: {output.strip()[-500:]}")
    return {"command": shown, "exit_code": code, "output": output}


class KillFault(Fault[KillParams]):
    """Send a signal (default SIGKILL) to the selected processes; optionally run a restart command after."""

    Params = KillParams

    def plan(self, params: KillParams, ctx: Context) -> dict[str, Any]:
        return {**resolve(params, ctx, "host.kill"), "signal": params.signal}

    def inject(self, params: KillParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        sig = signal.Signals[info["signal"]]
        sent = []
        for target in info["targets"]:
            ok = procfs.signal_identity(target["pid"], target["starttime"], sig)
            sent.append({**target, "sent": ok})
            ctx.log(f"host.kill: {info['signal']} -> pid {target['pid']} ({target['cmdline']}): {ok}")
        deadline = time.monotonic() + params.wait  # one wait for all of them, not one per process
        killed = [
            {**t, "exited": procfs.wait_gone(t["pid"], t["starttime"], max(0.0, deadline - time.monotonic()))}
            if t["sent"]
            else {**t, "exited": True}
            for t in sent
        ]
        result = {**info, "killed": killed}
        if params.restart is not None:
            if any(t["sent"] for t in sent):
                result["restart"] = run_restart(params, ctx)
            else:
                result["restart"] = {"skipped": "no process was signalled, so none is brought back"}
        return result

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        """Nothing to undo: a killed process stays killed (the journal keeps what was killed)."""

    def describe(self, info: dict[str, Any]) -> str:
        return f"{info.get('signal', 'SIGKILL')} to {describe_targets(info)}"


class PauseParams(TargetParams):
    pass


class PauseFault(Fault[PauseParams]):
    """Freeze the selected processes (SIGSTOP); revert resumes them (SIGCONT), only the same processes."""

    Params = PauseParams

    def plan(self, params: PauseParams, ctx: Context) -> dict[str, Any]:
        info = resolve(params, ctx, "host.pause")
        # A process stopped already (job control, a debugger) was not stopped by us: never resume it.
        for target in info["targets"]:
            proc = procfs.same_process(target["pid"], target["starttime"])
            target["was_stopped"] = proc is not None and proc.state in ("T", "t")
        return info

    def inject(self, params: PauseParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        paused = []
        for target in info["targets"]:
            if ctx.cancel.is_set():  # the run is stopping: stop no more processes (revert resumes them all)
                break
            if target.get("was_stopped"):
                continue
            if procfs.signal_identity(target["pid"], target["starttime"], signal.SIGSTOP):
                paused.append(target["pid"])
        late = [p for t in info["targets"] if (p := t["pid"]) in paused and not _stopped(t, True)]
        if late:
            raise PluginError(f"host.pause: SIGSTOP sent but pid(s) {late} did not stop within 5s")
        return {**info, "paused": paused}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        # Every planned target, not only "paused": the runner may have been cut short inside inject.
        stuck = [t["pid"] for t in info.get("targets", []) if not t.get("was_stopped") and not _resume(t)]
        if stuck:
            raise PluginError(f"host.pause: SIGCONT sent but pid(s) {stuck} are still stopped after 5s")

    def describe(self, info: dict[str, Any]) -> str:
        return f"SIGSTOP (then SIGCONT on revert) to {describe_targets(info)}"


def _stopped(target: dict[str, Any], stopped: bool) -> bool:
    return procfs.wait_state(target["pid"], target["starttime"], stopped, 5.0)


def _resume(target: dict[str, Any], timeout: float = 5.0) -> bool:
    """SIGCONT until the same process is no longer stopped (or is gone). SIGCONT is sent again while
    waiting, in case a SIGSTOP from an inject that was cut short arrives after the first one."""
    end = time.monotonic() + timeout
    while True:
        if not procfs.signal_identity(target["pid"], target["starttime"], signal.SIGCONT):
            return True  # gone, or another process now: nothing of ours to resume
        if procfs.wait_state(target["pid"], target["starttime"], False, 0.1):
            return True
        if time.monotonic() >= end:
            return False


__all__ = ["KillFault", "KillParams", "PauseFault", "PauseParams"]
