"""A signal while a fault's inject is still running (real `chaoskit run`, real processes and files): the revert
waits for that inject (asked to stop through ctx.cancel) and undoes all of it -- nothing is created after the
journal says the fault was reverted."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import yaml

from tests.host.host_helpers import chaoskit_cmd, gone
from tests.host.test_runs import workers_of


def start(tmp_path: Path, step: dict[str, object]) -> subprocess.Popen[str]:
    doc = {"title": "in flight", "method": [step, {"pause": "30s"}]}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(doc))
    return subprocess.Popen(
        [chaoskit_cmd(), "run", "exp.yaml", "--json", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait(check: object, proc: subprocess.Popen[str], what: str) -> None:
    assert callable(check)
    end = time.monotonic() + 60
    while not check():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_sigint_while_cpu_stress_is_starting_its_workers(tmp_path: Path) -> None:
    proc = start(tmp_path, {"fault": "host.cpu_stress", "with": {"workers": 6, "load_percent": 5}})
    wait(lambda: len(workers_of(proc.pid)) >= 1, proc, "the first stress worker")
    assert len(workers_of(proc.pid)) < 6  # the inject is still starting workers
    seen = set(workers_of(proc.pid))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    journal = json.loads((tmp_path / json.loads(out)["journal"]).read_text())
    (fault,) = journal["faults"]
    assert fault["reverted_at"] is not None and not fault["revert_error"]
    assert all(gone(pid) for pid in seen)
    assert workers_of(proc.pid) == []  # (the runner is gone; its workers too: none started after the revert)
    workers = subprocess.run(["pgrep", "-f", f"--token {journal['run_id']}"], capture_output=True, text=True)
    assert workers.stdout.strip() == "", "a stress worker of this run is still alive"


def test_sigterm_while_disk_fill_is_writing(tmp_path: Path) -> None:
    (tmp_path / "fill").mkdir()
    step = {"fault": "host.disk_fill", "with": {"path": "fill", "size_mib": 4096, "min_free_mib": 1024}}
    proc = start(tmp_path, step)
    wait(lambda: any((tmp_path / "fill").glob("chaoskit-fill-*.bin")), proc, "the fill file")
    (fill,) = (tmp_path / "fill").glob("chaoskit-fill-*.bin")
    wait(lambda: fill.exists() and fill.stat().st_size > 0, proc, "the first MiB")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    journal = json.loads((tmp_path / json.loads(out)["journal"]).read_text())
    (fault,) = journal["faults"]
    assert fault["reverted_at"] is not None and not fault["revert_error"]
    # The inject returned within the revert's wait (1 s; writing 4 GiB takes longer): ctx.cancel was honoured.
    assert not [e for e in journal["errors"] if "was still running" in e["message"]], journal["errors"]
    time.sleep(0.5)  # nothing is written after the revert
    assert list((tmp_path / "fill").iterdir()) == []
