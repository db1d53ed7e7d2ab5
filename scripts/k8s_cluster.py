"""A real, local Kubernetes control plane for integration tests (stdlib only).

Thin wrapper around ``scripts/k8s-control-plane.sh`` (see ``scripts/K8S.md``)::

    from k8s_cluster import ensure_built, local_cluster

    ensure_built()                                  # cold: ~15 min once; then cached and instant
    with local_cluster(tmp_path / "k8s") as kubeconfig:
        ...                                         # KUBECONFIG=kubeconfig; nodes are simulated by kwok

Everything started is stopped when the ``with`` block exits, also on exceptions and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SCRIPT", "ClusterError", "bin_dir", "ensure_built", "local_cluster"]

SCRIPT = Path(__file__).resolve().with_name("k8s-control-plane.sh")
EXIT_ALREADY_RUNNING = 3  # the script's exit code when `start DIR` finds DIR's cluster running


class ClusterError(RuntimeError):
    """The control plane script failed; the message carries the tail of its output."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


def _run(
    args: list[str],
    *,
    timeout: float | None,
    env: dict[str, str] | None = None,
    capture: bool = True,
) -> str:
    """Run the script with ``args``; return its stdout, raise ClusterError (with output tail) on failure."""
    cmd = ["bash", str(SCRIPT), *args]
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if capture else None,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"{' '.join(cmd)} timed out after {timeout}s") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or "").splitlines()[-60:])
        raise ClusterError(f"{' '.join(cmd)} failed with exit code {proc.returncode}\n{tail}", proc.returncode)
    return proc.stdout


def bin_dir() -> Path:
    """Directory holding the cached binaries (they may not be built yet)."""
    return Path(_run(["bin-dir"], timeout=30).strip())


def ensure_built(timeout: float | None = 3 * 3600) -> Path:
    """Build the pinned binaries unless cached; return their directory.

    Progress goes to stderr (a cold build takes a long time; a cached one returns at once).
    """
    _run(["build"], timeout=timeout, capture=False)
    return bin_dir()


@contextlib.contextmanager
def local_cluster(
    workdir: Path,
    *,
    nodes: int = 1,
    build: bool = True,
    start_timeout: float = 300,
) -> Iterator[Path]:
    """Start a local control plane with ``nodes`` kwok nodes in ``workdir``; yield the kubeconfig path.

    Logs (``*.log``), pid files and ``cluster.env`` (ports, versions) stay in ``workdir`` for inspection.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if build:
        ensure_built()
    env = {"CHAOSKIT_K8S_NODES": str(nodes), "CHAOSKIT_K8S_START_TIMEOUT": str(int(start_timeout))}
    try:
        out = _run(["start", str(workdir)], timeout=start_timeout + 60, env=env)
    except BaseException as exc:
        # The script stops what it started when it fails by itself; stop again for a timeout (the script was
        # killed) or Ctrl-C. Never stop a cluster that was already running there: it is not ours.
        if not (isinstance(exc, ClusterError) and exc.returncode == EXIT_ALREADY_RUNNING):
            with contextlib.suppress(ClusterError):
                _stop(workdir)
        raise
    body_ok = False
    try:
        yield Path(out.strip().splitlines()[-1])
        body_ok = True
    finally:
        try:
            _stop(workdir)
        except ClusterError:
            if body_ok:  # never hide an exception that is already propagating
                raise


def _stop(workdir: Path) -> None:
    _run(["stop", str(workdir)], timeout=120)
