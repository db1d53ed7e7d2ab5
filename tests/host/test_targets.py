"""Target selection against real processes: every selector, the seeded choice, no match, never chaoskit itself."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from chaoskit_host import procfs
from chaoskit_host.signals import KillParams, PauseFault, PauseParams
from chaoskit_host.targets import TargetParams, resolve
from pydantic import ValidationError

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from tests.host.host_helpers import ServerProcess, Sleepers, proc_state, wait_for


def pids(info: dict[str, object]) -> list[int]:
    return [t["pid"] for t in info["targets"]]  # type: ignore[attr-defined,index]


def test_select_by_name_records_identity_and_cmdline(sleepers: Sleepers) -> None:
    started = sleepers.start(3)
    info = resolve(TargetParams(name=sleepers.name, mode="all"), Context(), "test")
    assert pids(info) == sorted(started)
    assert info["matched"] == 3
    for target in info["targets"]:
        proc = procfs.read_proc(target["pid"])
        assert proc is not None
        assert target["starttime"] == proc.starttime  # from /proc/<pid>/stat field 22
        assert target["cmdline"] == f"{sleepers.link} 300"


def test_select_by_pid_and_pidfile(sleepers: Sleepers, tmp_path: Path) -> None:
    first, second = sleepers.start(2)
    assert pids(resolve(TargetParams(pid=second), Context(), "t")) == [second]
    (tmp_path / "svc.pid").write_text(f"{first}\n")
    info = resolve(TargetParams(pidfile="svc.pid"), Context(work_dir=tmp_path), "t")
    assert pids(info) == [first]


def test_select_by_cmdline_regex(sleepers: Sleepers) -> None:
    started = sleepers.start(2)
    info = resolve(TargetParams(cmdline=rf"{sleepers.name} 30\d$", mode="all"), Context(), "t")
    assert pids(info) == sorted(started)


def test_select_by_listening_port(server: ServerProcess, sleepers: Sleepers) -> None:
    sleepers.start(1)
    info = resolve(TargetParams(port=server.port), Context(), "t")
    assert pids(info) == [server.proc.pid]
    assert "server.py" in info["targets"][0]["cmdline"]


def test_selectors_combine_with_and(sleepers: Sleepers, server: ServerProcess) -> None:
    with pytest.raises(PluginError):
        resolve(TargetParams(port=server.port, name=sleepers.name), Context(), "t")


def test_no_match_is_an_error_that_says_what_was_searched(tmp_path: Path) -> None:
    with pytest.raises(PluginError) as err:
        resolve(TargetParams(name="no-such-process-xyz"), Context(), "host.kill")
    assert "host.kill: no process matches name='no-such-process-xyz'" in str(err.value)
    with pytest.raises(PluginError, match=r"pidfile .*missing\.pid is missing"):
        resolve(TargetParams(pidfile="missing.pid"), Context(work_dir=tmp_path), "host.kill")


def test_no_match_allowed_does_nothing() -> None:
    fault = PauseFault()
    params = PauseParams(name="no-such-process-xyz", allow_no_match=True)
    info = fault.plan(params, Context())
    assert info["targets"] == []
    assert fault.inject(params, info, Context()) == {**info, "paused": []}
    fault.revert(info, Context())
    assert "no process" in fault.describe(info)


def test_never_selects_itself_or_its_ancestors() -> None:
    mine = procfs.ancestors()
    assert os.getpid() in mine and 1 in mine
    me = procfs.read_proc(os.getpid())
    assert me is not None
    # A pattern that matches this very test process (and maybe others): chaoskit's own line is excluded.
    with pytest.raises(PluginError):
        resolve(TargetParams(pid=os.getpid()), Context(), "t")
    info = resolve(TargetParams(cmdline="pytest", mode="all", allow_no_match=True), Context(), "t")
    assert not mine & set(pids(info))


def test_seeded_choice_is_reproducible(sleepers: Sleepers) -> None:
    sleepers.start(6)
    params = TargetParams(name=sleepers.name, mode="count", count=3, seed=42)
    first = pids(resolve(params, Context(), "t"))
    assert len(first) == 3
    for _ in range(3):
        assert pids(resolve(params, Context(), "t")) == first
    # Different seeds pick different subsets (20 of them cannot all pick the same 3 of 6).
    picks = {tuple(pids(resolve(params.model_copy(update={"seed": s}), Context(), "t"))) for s in range(20)}
    assert len(picks) > 1
    # Without a seed, the one drawn is recorded, and replaying it gives the same choice.
    drawn = resolve(TargetParams(name=sleepers.name, mode="one"), Context(), "t")
    replay = resolve(TargetParams(name=sleepers.name, mode="one", seed=drawn["seed"]), Context(), "t")
    assert pids(replay) == pids(drawn)


@pytest.mark.parametrize(
    ("mode", "extra", "expected"),
    [
        ("one", {}, 1),
        ("all", {}, 5),
        ("percent", {"percent": 50}, 3),
        ("percent", {"percent": 1}, 1),
        ("count", {"count": 9}, 5),
    ],
)
def test_modes_pick_how_many(sleepers: Sleepers, mode: str, extra: dict[str, int], expected: int) -> None:
    sleepers.start(5)
    info = resolve(TargetParams(name=sleepers.name, mode=mode, seed=7, **extra), Context(), "t")  # type: ignore[arg-type]
    assert len(info["targets"]) == expected
    assert info["matched"] == 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "at least one of: pid, pidfile, name, cmdline, port"),
        ({"name": "x", "mode": "count"}, "mode count needs 'count'"),
        ({"name": "x", "count": 2}, "'count' applies to mode count"),
        ({"name": "x", "mode": "percent", "percent": 150}, "less than or equal to 100"),
        ({"cmdline": "(unclosed"}, "invalid regular expression"),
        ({"port": 70000}, "less than or equal to 65535"),
        ({"name": "x", "signal": "SIGSTOP"}, "use the host.pause fault"),
        ({"name": "x", "signal": "NOPE"}, "unknown signal 'NOPE'"),
    ],
)
def test_invalid_params_are_explained(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KillParams.model_validate(params)


def test_signal_names_are_normalised() -> None:
    assert KillParams(name="x").signal == "SIGKILL"
    assert KillParams(name="x", signal="term").signal == "SIGTERM"
    assert KillParams.model_validate({"name": "x", "signal": 1}).signal == "SIGHUP"


def test_secret_arguments_are_masked_in_the_journal() -> None:
    shown = procfs.masked_command(["db", "--password=hunter2", "--token", "abc", "--port", "5432"])
    assert shown == "db --password=*** --token *** --port 5432"


def test_revert_never_signals_a_reused_pid(sleepers: Sleepers) -> None:
    """A pid whose start time differs from the recorded one is another process: it is left alone."""
    (pid,) = sleepers.start(1)
    fault = PauseFault()
    info = fault.plan(PauseParams(pid=pid), Context())
    fault.inject(PauseParams(pid=pid), info, Context())
    assert proc_state(pid) == "T"
    forged = {**info, "targets": [{**info["targets"][0], "starttime": info["targets"][0]["starttime"] + 1}]}
    fault.revert(forged, Context())
    assert proc_state(pid) == "T"  # not resumed: not "the same process"
    fault.revert(info, Context())
    assert proc_state(pid) in ("S", "R")


def test_pause_leaves_a_process_stopped_by_someone_else_stopped(sleepers: Sleepers) -> None:
    """Revert resumes only what the fault stopped, not a process that was stopped before."""
    stopped_before, running = sleepers.start(2)
    os.kill(stopped_before, signal.SIGSTOP)
    wait_for(lambda: proc_state(stopped_before) == "T", what="the first sleeper to stop")
    fault, params = PauseFault(), PauseParams(name=sleepers.name, mode="all")
    info = fault.plan(params, Context())
    result = fault.inject(params, info, Context())
    assert result is not None and result["paused"] == [running]
    assert proc_state(running) == "T"
    fault.revert(info, Context())
    assert proc_state(running) in ("S", "R")
    assert proc_state(stopped_before) == "T"


def test_kernel_threads_are_never_targets() -> None:
    kthreadd = procfs.read_proc(2)  # pid 2 is kthreadd on Linux, parent of every kernel thread
    if kthreadd is None or not kthreadd.kernel_thread:
        pytest.skip("no kernel threads visible here (pid namespace)")
    with pytest.raises(PluginError, match="no process matches pid=2"):
        resolve(TargetParams(pid=2), Context(), "t")
