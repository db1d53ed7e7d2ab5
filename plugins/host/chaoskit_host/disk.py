"""``host.disk_fill``: write N MiB into a new file in a folder; revert removes the file.

The file name carries a token chosen by ``plan`` (and is created with O_EXCL), so revert -- also
``chaoskit rollback`` after a SIGKILL -- only ever removes the file this fault wrote. A fill that would
leave less than ``min_free_mib`` free on that filesystem is refused, before and while writing.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from pydantic import Field

from chaoskit.errors import PluginError
from chaoskit.model.base import StrictModel
from chaoskit.plugin import Context, Fault

_CHUNK = 1024 * 1024
_PREFIX = "chaoskit-fill-"


class DiskFillParams(StrictModel):
    path: str = Field(description="An existing folder; the fill file is created in it (relative to the experiment).")
    size_mib: int = Field(ge=1, le=16 * 1024 * 1024, description="MiB to write.")
    min_free_mib: int = Field(
        default=1024, ge=0, description="Refuse when less than this would stay free on the filesystem."
    )


def free_mib(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize // _CHUNK


class DiskFillFault(Fault[DiskFillParams]):
    """Fill a filesystem: write size_mib into a new file under path (keeping min_free_mib free); revert deletes it."""

    Params = DiskFillParams

    def _check(self, folder: Path, params: DiskFillParams) -> None:
        free = free_mib(folder)
        if free - params.size_mib < params.min_free_mib:
            raise PluginError(
                f"host.disk_fill: writing {params.size_mib} MiB to {folder} would leave {free - params.size_mib} MiB "
                f"free, below min_free_mib ({params.min_free_mib} MiB); {free} MiB is free now"
            )

    def plan(self, params: DiskFillParams, ctx: Context) -> dict[str, Any]:
        folder = Path(ctx.work_dir, params.path).resolve()
        if not folder.is_dir():
            raise PluginError(f"host.disk_fill: path {folder} is not an existing folder")
        self._check(folder, params)
        name = f"{_PREFIX}{ctx.run_id}-{uuid.uuid4().hex[:10]}.bin"
        return {"file": str(folder / name), "size_mib": params.size_mib, "min_free_mib": params.min_free_mib}

    def inject(self, params: DiskFillParams, info: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        path = Path(info["file"])
        self._check(path.parent, params)
        block = os.urandom(_CHUNK)  # not zeros: some filesystems compress or skip them
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise PluginError(f"host.disk_fill: cannot create {path}: {exc}") from exc
        written = 0
        try:
            for i in range(params.size_mib):
                if ctx.cancel.is_set():  # the run is stopping: write no more (revert deletes the file)
                    raise PluginError(f"host.disk_fill: cancelled after {written} MiB: the run is stopping")
                if i % 64 == 0 and free_mib(path.parent) < params.min_free_mib + 1:
                    raise PluginError(
                        f"host.disk_fill: stopped after {written} MiB: {path.parent} is down to min_free_mib "
                        f"({params.min_free_mib} MiB) (something else is writing too)"
                    )
                os.write(fd, block)
                written += 1
            os.fsync(fd)
        except OSError as exc:
            raise PluginError(f"host.disk_fill: writing {path} failed after {written} MiB: {exc}") from exc
        finally:
            os.close(fd)
        return {**info, "written_mib": written}

    def revert(self, info: dict[str, Any], ctx: Context) -> None:
        path = Path(info["file"])
        if not path.name.startswith(_PREFIX):  # never delete anything this fault did not name
            raise PluginError(f"host.disk_fill: refusing to delete {path}: not a chaoskit fill file")
        path.unlink(missing_ok=True)

    def describe(self, info: dict[str, Any]) -> str:
        return f"write {info.get('size_mib')} MiB to {info.get('file')} (keeping {info.get('min_free_mib')} MiB free)"
