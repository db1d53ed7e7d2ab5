"""host.kill and host.pause on real processes, checked with the probes and with /proc."""

from __future__ import annotations

import shlex
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from chaoskit_host import procfs
from chaoskit_host.probes import PortParams, PortProbe, ProcessCountProbe
from chaoskit_host.signals import KillFault, KillParams, PauseFault, PauseParams
from chaoskit_host.targets import Selector, TargetParams, resolve

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from tests.host.host_helpers import SERVER, ServerProcess, Sleepers, free_port, proc_state, serving, wait_for


def count(selector: Selector) -> int:
    value = ProcessCountProbe().observe(selector, Context()).value
    assert isinstance(value, int)
    return value


def listening(port: int) -> bool:
    value = PortProbe().observe(PortParams(port=port), Context()).value
    assert isinstance(value, bool)
    return value


def get(url: str, timeout: float = 2.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return int(resp.status)


def test_kill_one_sleeper_with_sigkill(sleepers: Sleepers) -> None:
    sleepers.start(2)
    by_name = Selector(name=sleepers.name)
    assert count(by_name) == 2
    fault, params = KillFault(), KillParams(name=sleepers.name, seed=1)
    info = fault.plan(params, Context())
    assert fault.describe(info).startswith("SIGKILL to 1 of 2 matching process(es): pid ")
    (victim,) = (t["pid"] for t in info["targets"])
    result = fault.inject(params, info, Context())
    assert result is not None
    assert result["killed"] == [{**info["targets"][0], "sent": True, "exited": True}]
    popen = next(p for p in sleepers.procs if p.pid == victim)
    assert popen.wait(timeout=10) == -signal.SIGKILL
    assert count(by_name) == 1
    fault.revert(result, Context())  # a no-op, and idempotent
    fault.revert(result, Context())
    assert count(by_name) == 1


def test_kill_a_gone_process_again_sends_nothing(sleepers: Sleepers) -> None:
    (pid,) = sleepers.start(1)
    fault, params = KillFault(), KillParams(pid=pid, signal="SIGTERM")
    info = fault.plan(params, Context())
    fault.inject(params, info, Context())
    sleepers.procs[0].wait(timeout=10)
    again = fault.inject(params, info, Context())
    assert again is not None and again["killed"][0]["sent"] is False


def test_kill_by_port_and_restart_brings_the_service_back(server: ServerProcess, tmp_path: Path) -> None:
    assert get(server.url) == 200 and listening(server.port)
    log = tmp_path / "restarted.log"
    restart = f"sh -c {shlex.quote(f'{shlex.quote(sys.executable)} {SERVER} {server.port} >{log} 2>&1 &')}"
    fault = KillFault()
    params = KillParams(port=server.port, signal="SIGTERM", restart=restart)
    info = fault.plan(params, Context(work_dir=tmp_path))
    result = fault.inject(params, info, Context(work_dir=tmp_path))
    assert result is not None
    assert server.proc.wait(timeout=10) == -signal.SIGTERM
    assert result["killed"][0]["pid"] == server.proc.pid and result["killed"][0]["exited"] is True
    assert result["restart"]["exit_code"] == 0
    wait_for(lambda: serving(server.port), 30, "the restarted server")
    new = count(Selector(port=server.port))
    assert new == 1
    newpid = ProcessCountProbe().observe(Selector(port=server.port), Context()).details["pids"]
    assert newpid != [server.proc.pid]
    assert get(server.url) == 200
    # clean up the restarted server (not our child: it was started by the restart command)
    assert isinstance(newpid, list)
    KillFault().inject(KillParams(pid=newpid[0]), KillFault().plan(KillParams(pid=newpid[0]), Context()), Context())
    wait_for(lambda: not listening(server.port), 15, "the restarted server to stop")


def test_failing_restart_is_an_error(sleepers: Sleepers) -> None:
    (pid,) = sleepers.start(1)
    params = KillParams(pid=pid, restart=["sh", "-c", "echo cannot restart >&2; exit 3"])
    with pytest.raises(PluginError, match=r"restart command .* exited with 3: cannot restart"):
        KillFault().inject(params, KillFault().plan(params, Context()), Context())


def test_pause_freezes_and_revert_resumes(server: ServerProcess) -> None:
    assert get(server.url) == 200
    fault, params = PauseFault(), PauseParams(port=server.port)
    info = fault.plan(params, Context())
    result = fault.inject(params, info, Context())
    assert result is not None and result["paused"] == [server.proc.pid]
    assert proc_state(server.proc.pid) == "T"
    # A frozen process: the port still listens (the kernel accepts), but nothing answers.
    assert listening(server.port)
    assert count(Selector(port=server.port)) == 1
    with pytest.raises(OSError):
        get(server.url, timeout=1.0)
    fault.revert(result, Context())
    assert proc_state(server.proc.pid) in ("S", "R")
    assert get(server.url, timeout=10) == 200
    fault.revert(result, Context())  # idempotent
    assert proc_state(server.proc.pid) in ("S", "R")


def test_pause_revert_works_from_the_plan_alone(sleepers: Sleepers) -> None:
    """As after a runner killed inside inject: the ledger holds only what plan returned."""
    sleepers.start(3)
    fault, params = PauseFault(), PauseParams(name=sleepers.name, mode="all")
    info = fault.plan(params, Context())
    fault.inject(params, info, Context())
    assert {proc_state(p) for p in sleepers.pids} == {"T"}
    fault.revert(info, Context())
    assert {proc_state(p) for p in sleepers.pids} <= {"S", "R"}


def test_port_probe_sees_listeners_only(server: ServerProcess) -> None:
    assert listening(server.port)
    assert PortProbe().observe(PortParams(port=server.port), Context()).details == {"addresses": ["127.0.0.1"]}
    assert PortProbe().observe(PortParams(port=server.port, host="127.0.0.1"), Context()).value is True
    assert PortProbe().observe(PortParams(port=server.port, host="::1"), Context()).value is False
    assert not listening(free_port())


def test_port_probe_reads_ipv6_listeners() -> None:
    try:
        sock = socket.socket(socket.AF_INET6)
        sock.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with sock:
        sock.listen()
        port = sock.getsockname()[1]
        obs = PortProbe().observe(PortParams(port=port, host="::1"), Context())
        assert obs.value is True and obs.details == {"addresses": ["::1"]}
        assert PortProbe().observe(PortParams(port=port, host="127.0.0.1"), Context()).value is False
        with pytest.raises(PluginError, match=f"no process matches port={port}"):
            resolve(TargetParams(port=port), Context(), "t")  # the listener is this very process: never a target
    assert not listening(port)


def test_process_probe_counts_and_ignores_zombies(sleepers: Sleepers, tmp_path: Path) -> None:
    pids = sleepers.start(2)
    assert count(Selector(name=sleepers.name)) == 2
    assert count(Selector(cmdline=sleepers.name)) == 2
    sleepers.procs[0].kill()
    wait_for(lambda: proc_state(pids[0]) in ("Z", None), what="a zombie")
    assert count(Selector(name=sleepers.name)) == 1  # the zombie (not yet reaped) does not count
    assert count(Selector(pidfile=str(tmp_path / "none.pid"))) == 0  # a probe: a missing pidfile is 0
    assert procfs.read_proc(pids[1]) is not None


def test_restart_is_skipped_when_nothing_was_killed(tmp_path: Path) -> None:
    marker = tmp_path / "restarted"
    params = KillParams(name="no-such-process-xyz", allow_no_match=True, restart=["touch", str(marker)])
    result = KillFault().inject(params, KillFault().plan(params, Context()), Context())
    assert result is not None and result["killed"] == [] and "skipped" in result["restart"]
    assert not marker.exists()


def test_kill_waits_once_for_all_processes_that_ignore_the_signal(sleepers: Sleepers) -> None:
    """SIGCHLD is ignored by sleep: three survivors cost one `wait`, not three."""
    sleepers.start(3)
    params = KillParams(name=sleepers.name, mode="all", signal="SIGCHLD", wait=2)
    started = time.monotonic()
    result = KillFault().inject(params, KillFault().plan(params, Context()), Context())
    assert time.monotonic() - started < 5  # one wait per process would take >= 6 s
    assert result is not None and [k["exited"] for k in result["killed"]] == [False, False, False]
    assert all(proc_state(p) in ("S", "R") for p in sleepers.pids)
