"""host.cpu_stress, host.memory_stress and host.disk_fill: real workers and files, gone after revert."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from chaoskit_host import procfs
from chaoskit_host.disk import DiskFillFault, DiskFillParams, free_mib
from chaoskit_host.stress import CpuStressFault, CpuStressParams, MemoryStressFault, MemoryStressParams

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from tests.host.host_helpers import gone, proc_state, wait_for, worker_pids


def cpu_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def test_cpu_stress_burns_cpu_and_revert_stops_it() -> None:
    fault, params = CpuStressFault(), CpuStressParams(workers=1, max_lifetime=60)
    info = fault.plan(params, Context(run_id="cpu-test"))
    assert info["workers"] == [] and info["token"].startswith("cpu-test-")
    assert "1 CPU worker process(es) at 100%" in fault.describe(info)
    result = fault.inject(params, info, Context(run_id="cpu-test"))
    assert result is not None
    (worker,) = result["workers"]
    pid = worker["pid"]
    assert pid in worker_pids(info["token"])
    proc = procfs.read_proc(pid)
    assert proc is not None and proc.ppid == os.getpid() and proc.starttime == worker["starttime"]
    before = cpu_ticks(pid)
    wait_for(lambda: cpu_ticks(pid) - before >= 50, 30, "the worker to burn 0.5 s of CPU")  # it spins
    fault.revert(result, Context())
    assert proc_state(pid) is None  # killed and reaped: no zombie left
    assert worker_pids(info["token"]) == []
    fault.revert(result, Context())  # idempotent


def test_memory_stress_holds_the_memory_until_revert() -> None:
    fault, params = MemoryStressFault(), MemoryStressParams(size_mib=50, max_lifetime=60)
    info = fault.plan(params, Context())
    result = fault.inject(params, info, Context())
    assert result is not None
    pid = result["workers"][0]["pid"]
    assert rss_mib(pid) >= 50
    fault.revert(result, Context())
    assert proc_state(pid) is None


def test_memory_stress_refuses_what_the_machine_cannot_spare() -> None:
    too_much = procfs.mem_available_mib()
    with pytest.raises(PluginError, match=r"host.memory_stress: allocating .* below min_free_mib \(512 MiB\)"):
        MemoryStressFault().plan(MemoryStressParams(size_mib=too_much), Context())


def test_revert_finds_workers_the_ledger_never_recorded() -> None:
    """Runner killed inside inject: the ledger holds the plan only (no pids); the token finds the workers."""
    fault, params = CpuStressFault(), CpuStressParams(workers=1, load_percent=10, max_lifetime=60)
    info = fault.plan(params, Context())
    fault.inject(params, info, Context())
    (pid,) = worker_pids(info["token"])
    fault.revert(info, Context())
    assert proc_state(pid) is None


def test_workers_stop_by_themselves_at_max_lifetime() -> None:
    fault, params = CpuStressFault(), CpuStressParams(workers=1, load_percent=10, max_lifetime=1)
    result = fault.inject(params, fault.plan(params, Context()), Context())
    assert result is not None
    pid = result["workers"][0]["pid"]
    wait_for(lambda: gone(pid), 15, "the worker to exit at its max lifetime")
    fault.revert(result, Context())


def test_workers_stop_when_chaoskit_is_killed(tmp_path: Path) -> None:
    """A process that started stress workers is SIGKILLed: the workers notice and exit on their own."""
    script = textwrap.dedent(
        """
        import sys, time
        from chaoskit.plugin import Context
        from chaoskit_host.stress import CpuStressFault, CpuStressParams
        fault, params = CpuStressFault(), CpuStressParams(workers=1, load_percent=10, max_lifetime=120)
        info = fault.inject(params, fault.plan(params, Context(run_id="orphan")), Context())
        print(info["token"], flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    token = parent.stdout.readline().strip()
    assert token.startswith("orphan-"), "the helper process failed to start its worker"
    (pid,) = worker_pids(token)
    parent.kill()
    parent.wait(timeout=10)
    wait_for(lambda: gone(pid), 15, "the orphaned worker to exit")


def test_disk_fill_writes_the_file_and_revert_removes_it(tmp_path: Path) -> None:
    fault, params = DiskFillFault(), DiskFillParams(path=".", size_mib=50, min_free_mib=64)
    ctx = Context(work_dir=tmp_path, run_id="fill")
    info = fault.plan(params, ctx)
    path = Path(info["file"])
    assert path.parent == tmp_path and not path.exists()
    result = fault.inject(params, info, ctx)
    assert result is not None and result["written_mib"] == 50
    assert path.stat().st_size == 50 * 1024 * 1024
    # really on disk, not a sparse file: its allocated blocks cover it (free space is shared with other writers)
    assert path.stat().st_blocks * 512 >= 50 * 1024 * 1024
    fault.revert(result, ctx)
    assert not path.exists()
    fault.revert(result, ctx)  # idempotent


def test_disk_fill_refuses_to_cross_the_safety_margin(tmp_path: Path) -> None:
    free = free_mib(tmp_path)
    with pytest.raises(PluginError, match=r"would leave .* below min_free_mib"):
        DiskFillFault().plan(DiskFillParams(path=".", size_mib=10, min_free_mib=free), Context(work_dir=tmp_path))
    with pytest.raises(PluginError, match="is not an existing folder"):
        DiskFillFault().plan(DiskFillParams(path="nope", size_mib=1), Context(work_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_disk_fill_revert_deletes_only_its_own_files(tmp_path: Path) -> None:
    precious = tmp_path / "data.db"
    precious.write_text("keep me")
    with pytest.raises(PluginError, match="refusing to delete"):
        DiskFillFault().revert({"file": str(precious)}, Context())
    assert precious.read_text() == "keep me"
