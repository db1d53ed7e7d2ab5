"""``host.kill`` and ``host.pause``: signals to the selected processes, always checked against pid + start time."""

from __future__ import annotations

import shlex
import signal
import subprocess
import tempfile
import time
from typing import Any

from pydantic import Field, field_validator, model_validator

from chaoskit.durations import Duration
from chaoskit.errors import PluginError
from chaoskit.plugin import Context, Fault
from chaoskit_host import procfs
from chaoskit_host.targets import TargetParams, describe_targets, resolve
from chaoskit_host.targets import preflight as targets_preflight


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
    down_for: Duration | None = Field(
        default=None,
        ge=0,
        le=600,
        description=(
            "Keep the processes down this long after the kill, then run `restart` (without it, `restart` runs at "
            "once). The restart runs when the fault is reverted, and not before `down_for` has passed: give the "
            "step a `duration` of at least `down_for` (else the revert waits the rest, within "
            "safety.revert_timeout). After a killed run, `chaoskit rollback` runs the restart that is still due."
        ),
    )

    @model_validator(mode="after")
    def _down_for_needs_restart(self) -> KillParams:
        if self.down_for is not None and self.restart is None:
            raise ValueError("down_for needs restart: the command that brings the processes back after that time")
        return self

    @field_validator("signal", mode="before")
    @classmethod
    def _known(cls, value: Any) -> str:
        name = signal_name(value)
        if name in ("SIGSTOP", "SIGCONT", "SIGTSTP"):
            raise ValueError(f"{name} does not kill; use the host.pause fault, which also resumes the process")
        return name


def run_restart(restart: list[str] | str, shell: bool, timeout: float, ctx: Context) -> dict[str, Any]:
    """Run the restart command. Output goes to files, not pipes, so a service it starts in the
    background cannot hold the call open; it runs in its own session, detached from chaoskit."""
    if shell:
        argv: list[str] | str = restart if isinstance(restart, str) else shlex.join(restart)
    else:
        argv = shlex.split(restart) if isinstance(restart, str) else list(restart)
    shown = restart if isinstance(restart, str) else shlex.join(restart)
    started = time.time()
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                argv,
                shell=shell,
                cwd=ctx.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise PluginError(f"host.kill: restart command {shown!r} could not start: {exc}") from exc
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise PluginError(
                f"host.kill: restart command {shown!r} did not exit within {timeout:g}s; killed"
            ) from None
        out.seek(0)
        output = out.read()[-2000:].decode(errors="replace")
    if code != 0:
        raise PluginError(f"host.kill: restart command {shown!r} exited with {code}: {output.strip()[-500:]}")
    return {"command": shown, "exit_code": code, "output": output, "started_at": started, "ended_at": time.time()}


class KillFault(Fault[KillParams]):
    """Send a signal (default SIGKILL) to the selected processes; optionally run a restart command after."""

    Params = KillParams

    def preflight(self, params: KillParams, ctx: Context) -> list[str]:
        return targets_preflight(params, ctx)

    def plan(self, params: KillParams, ctx: Context) -> dict[str, Any]:
        info = {**resolve(params, ctx, "host.kill"), "signal": params.signal, "revertible": False}
        if params.down_for is not None:  # the revert restarts, from this info alone (also `chaoskit rollback`)
            info["down_for"] = params.down_for
            info["restart_command"] = {
                "restart": params.restart,
                "shell": params.restart_shell,
                "timeout": params.restart_timeout,
            }
        return info

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
        result = {**info, "killed": killed, "killed_at": time.time()}
        if params.restart is not None:
            if not any(t["sent"] for t in sent):
                result["restart"] = {"skipped": "no process was signalled, so none is brought back"}
            elif params.down_for is None:
                result["restart"] = run_restart(params.restart, params.restart_shell, params.restart_timeout, ctx)
        return result

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        """A kill is not undone (a killed process stays killed; the journal keeps what was killed). With
        ``down_for``, the due restart runs here, once ``down_for`` has passed since the kill; what it did is
        added to ``info`` (the journal's revert info): exit code, output, start and end time."""
        command = info.get("restart_command")
        if not isinstance(command, dict) or "restart" in info:
            return
        if "killed_at" not in info:  # the inject was cut short: restart only if a target is really gone
            targets = info.get("targets") or []
            if all(procfs.same_process(t["pid"], t["starttime"]) is not None for t in targets):
                return
        due = float(info.get("killed_at") or 0.0) + float(info.get("down_for") or 0.0)
        wait = due - time.time()
        if wait > 0:
            ctx.log(f"host.kill: keeping the processes down {wait:.1f}s more (down_for), then restarting")
            time.sleep(wait)
        info["restart"] = run_restart(command["restart"], bool(command["shell"]), float(command["timeout"]), ctx)

    def describe(self, info: dict[str, Any]) -> str:
        down = f", restart after {info['down_for']:g}s" if info.get("down_for") is not None else ""
        return f"{info.get('signal', 'SIGKILL')} to {describe_targets(info)}{down}"


class PauseParams(TargetParams):
    pass


class PauseFault(Fault[PauseParams]):
    """Freeze the selected processes (SIGSTOP); revert resumes them (SIGCONT), only the same processes."""

    Params = PauseParams

    def preflight(self, params: PauseParams, ctx: Context) -> list[str]:
        return targets_preflight(params, ctx)

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
