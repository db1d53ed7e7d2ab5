"""The dead-man guardian: a separate process that reverts a run's ledger when its runner cannot.

Before a run's first inject the runner starts ``python -m chaoskit.run.guardian`` in its own session
(``start_new_session``), so Ctrl-C to the terminal's process group, a SIGKILL of the runner or an
OOM kill does not reach it. The runner holds the write end of a pipe that is the guardian's stdin and
beats on it (one byte every ``safety.guardian.heartbeat``). The guardian takes over when

- the pipe reaches end-of-file without ``done`` (the runner died: SIGKILL, OOM, a crash),
- its parent process is no longer the runner (the same, seen another way),
- no beat arrived for ``safety.guardian.grace`` (a frozen runner: SIGSTOP, a deadlock), or
- the halt file (:mod:`chaoskit.run.halt`) exists and the runner has not ended within ``grace``.

Taking over means: SIGKILL the runner if it is still there (so it cannot inject again behind the
guardian's back), revert every pending entry of the run's ledger with :func:`chaoskit.rollback.rollback`
(the code ``chaoskit rollback`` runs; it only needs the ledger and each plugin's ``revert``, so it works
for third-party plugins too), write ``guardian.json`` in the run folder and add what it did to the run's
journal (or write one: outcome ``aborted``, "runner lost", see :mod:`chaoskit.run.lost`), and exit. When the run ends
cleanly the runner writes ``done`` and waits for the guardian to exit: nothing is left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from chaoskit.errors import ChaosKitError
from chaoskit.record import record

DONE = b"done\n"
HANDOFF = b"handoff\n"
READY = "ready"


class GuardianError(ChaosKitError):
    """The guardian could not be started (the run does not inject without one)."""


@record
class Guardian:
    """The runner's handle on its guardian process."""

    proc: subprocess.Popen[bytes]
    beat_fd: int
    ready: bool = False

    @classmethod
    def start(
        cls,
        ledger: Path,
        run_dir: Path,
        run_id: str,
        heartbeat: float,
        grace: float,
        halt_file: Path,
    ) -> Guardian:
        """Start the guardian process; it guards from the moment it runs (a runner that dies before then is
        noticed as soon as it does). :meth:`wait_ready` confirms it is up."""
        read_fd, write_fd = os.pipe()
        # The guardian imports what the runner imports (plugins that only sit on this process's sys.path too).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        argv = [sys.executable, "-m", "chaoskit.run.guardian", "--ledger", str(ledger), "--run-dir", str(run_dir)]
        argv += ["--run-id", run_id, "--runner", str(os.getpid()), "--heartbeat", f"{heartbeat:g}"]
        argv += ["--grace", f"{grace:g}", "--halt-file", str(halt_file)]
        try:
            proc = subprocess.Popen(
                argv,
                stdin=read_fd,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        except OSError as exc:
            os.close(write_fd)
            raise GuardianError(f"the guardian process could not start: {exc}") from exc
        finally:
            os.close(read_fd)
        os.set_blocking(write_fd, False)  # a stopped guardian must never block the runner's heartbeat
        return cls(proc, write_fd)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait (once) until the guardian says it is up; a guardian that is not is stopped and an error."""
        if self.ready:
            return
        proc = self.proc
        assert proc.stdout is not None
        line = _read_line(proc.stdout, timeout)  # Ctrl-C meanwhile: the run ends and stops its guardian
        if line.strip() != READY:
            self.stop(wait=1.0)
            raise GuardianError(
                f"the guardian process (pid {proc.pid}) did not report ready within {timeout:g}s"
                + (f" (it exited with {proc.returncode})" if proc.returncode is not None else "")
                + "; set safety.guardian.enabled: false to run without one"
            )
        proc.stdout.close()
        self.ready = True

    @property
    def pid(self) -> int:
        return self.proc.pid

    def beat(self) -> bool:
        """One heartbeat. False when the guardian is gone (the run goes on unguarded)."""
        try:
            os.write(self.beat_fd, b".")
        except BlockingIOError:
            return True  # the pipe is full: the guardian is slow to read, not gone
        except OSError:
            return False
        return self.proc.poll() is None

    def stop(self, wait: float = 5.0, handoff: bool = False) -> None:
        """The run ended cleanly: tell the guardian, and reap it (no guardian outlives its run).
        With ``handoff`` (the ledger still has pending entries: an inject outlived its revert), the guardian
        stays and reverts what is pending once this process has exited."""
        if self.beat_fd >= 0:
            with contextlib.suppress(OSError):
                os.set_blocking(self.beat_fd, True)
                os.write(self.beat_fd, HANDOFF if handoff else DONE)
            os.close(self.beat_fd)
            self.beat_fd = -1
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.close()
        if handoff:
            return
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _read_line(stream: IO[bytes], timeout: float) -> str:
    end = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            break
        chunk = os.read(stream.fileno(), 64)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


# -- the guardian process ------------------------------------------------------------------------
def watch(
    fd: int, runner: int, heartbeat: float, grace: float, halt_file: Path, ledger: Path | None = None
) -> str | None:
    """Wait for the runner's end. None: it ended cleanly; else why the guardian takes over. After a handoff
    the guardian waits for the runner process to exit, or for ``ledger`` to be closed (the late revert done)."""
    last_beat = time.monotonic()
    halted_at: float | None = None
    tail = b""
    tick = min(heartbeat, 0.25)
    while True:
        if select.select([fd], [], [], tick)[0]:
            data = os.read(fd, 4096)
            if not data:
                return f"the runner (pid {runner}) ended without finishing its run (killed or crashed)"
            tail = (tail + data)[-len(HANDOFF) :]
            if tail.endswith(DONE):
                return None
            if tail == HANDOFF:
                while os.getppid() == runner:
                    if ledger is not None and not ledger.exists():
                        return None  # the inject returned and was reverted: nothing left to guard
                    time.sleep(tick)
                return f"the runner (pid {runner}) exited while an inject it had cut short was still running"
            last_beat = time.monotonic()
        now = time.monotonic()
        if os.getppid() != runner:
            return f"the runner (pid {runner}) is gone"
        if now - last_beat > grace:
            return f"the runner (pid {runner}) sent no heartbeat for {grace:g}s (frozen)"
        if halted_at is None and halt_file.exists():
            halted_at = now
        if halted_at is not None and now - halted_at > grace:
            return f"chaoskit is halted and the runner (pid {runner}) did not stop within {grace:g}s"


def take_over(ledger: Path, run_dir: Path, run_id: str, runner: int, why: str, live_file: Path) -> int:
    detected = time.time()
    if os.getppid() == runner:  # still our parent, so not a reused pid: stop it before reverting its faults
        with contextlib.suppress(OSError):
            os.kill(runner, signal.SIGKILL)
    live_file.unlink(missing_ok=True)  # the runner is gone: `chaoskit halt` no longer lists the run
    from chaoskit.ledger import LedgerFile
    from chaoskit.rollback import rollback

    try:  # what the run had injected, read before the rollback closes (removes) the ledger
        before: LedgerFile | None = LedgerFile.model_validate_json(ledger.read_bytes())
    except (OSError, ValueError):
        before = None

    reverted: list[str] = []
    failed: list[str] = []
    # The run's own ledger first, then the ledgers its plugins keep beside it (``<run id>.<plugin>.json``).
    ledgers = sorted(ledger.parent.glob(f"{run_id}.*json")) if ledger.parent.is_dir() else []
    if ledgers:
        try:
            report = rollback(ledgers, force=True)
            reverted, failed = report.reverted, report.failed
        except Exception as exc:  # recorded, never lost
            failed = [f"{type(exc).__name__}: {exc}"]
    # A write the runner did not finish: its temp file (a first write that never completed means nothing was
    # injected under that ledger, since the entry is written before the inject).
    removed = sorted(ledger.parent.glob(f".{run_id}.*json.tmp")) if ledger.parent.is_dir() else []
    for tmp in removed:
        tmp.unlink(missing_ok=True)
    record = {
        "run_id": run_id,
        "runner_pid": runner,
        "why": why,
        "detected_at": detected,
        "reverted": reverted,
        "failed": failed,
        "finished_at": (finished := time.time()),
        "ledgers": [str(p) for p in ledgers],
        "removed_temp_files": [str(p) for p in removed],
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / ".guardian.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, run_dir / "guardian.json")
    from chaoskit.run.lost import TakeOver, write_journal

    done = TakeOver(run_id, why, detected, finished, reverted, failed, str(run_dir / "guardian.json"))
    try:
        write_journal(run_dir, before, done)
    except Exception as exc:  # the reverts are done and guardian.json says so; the journal is a courtesy
        print(f"chaoskit guardian: could not write the run's journal: {exc}", file=sys.stderr)
    return 4 if failed else 0


def main(argv: list[str] | None = None) -> int:
    import argparse  # the guardian process's command line; the runner imports this module only to start it

    parser = argparse.ArgumentParser(prog="python -m chaoskit.run.guardian")
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--runner", type=int, required=True)
    parser.add_argument("--heartbeat", type=float, default=1.0)
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("--halt-file", type=Path, required=True)
    args = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)  # only the runner's end (or SIGKILL/SIGTERM) ends the guardian
    with contextlib.suppress(OSError):  # the runner may be gone already (killed before it read this): guard anyway
        print(READY, flush=True)
        sys.stdout.close()
    why = watch(0, args.runner, args.heartbeat, args.grace, args.halt_file, args.ledger)
    if why is None:
        return 0
    live_file = args.halt_file.parent / "runs" / f"{args.run_id}.json"  # see chaoskit.run.halt
    return take_over(args.ledger, args.run_dir, args.run_id, args.runner, why, live_file)


if __name__ == "__main__":
    sys.exit(main())
