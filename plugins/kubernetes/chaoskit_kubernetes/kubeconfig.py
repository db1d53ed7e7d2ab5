"""Read a kubeconfig without leaving files behind.

The Kubernetes client writes each ``*-data`` field (the cluster's CA certificate, a client certificate and key)
to a file in the system temp folder and removes it at interpreter exit, so a killed run (SIGKILL, OOM) leaves
them there, the client key included. Here those fields become anonymous in-memory files (``memfd_create``)
named by ``/proc/self/fd/N`` paths: nothing is written to disk and the kernel frees them when the process
ends, however it ends. Relative file paths are resolved against the kubeconfig's folder, as kubectl does.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from chaoskit.errors import PluginError

_DATA_FIELDS = {
    "cluster": {"certificate-authority-data": "certificate-authority"},
    "user": {"client-certificate-data": "client-certificate", "client-key-data": "client-key"},
}
_PATH_FIELDS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}
_memory_files: dict[bytes, str] = {}  # content -> /proc/self/fd/N, kept open for the life of the process


def _memory_file(content: bytes) -> str:
    path = _memory_files.get(content)
    if path is None:
        fd = os.memfd_create("chaoskit-kubeconfig", os.MFD_CLOEXEC)
        os.write(fd, content)
        path = _memory_files[content] = f"/proc/self/fd/{fd}"
    return path


def load(path: str) -> dict[str, Any]:
    """The kubeconfig at ``path`` as a dict for ``load_kube_config_from_dict``, its ``*-data`` in memory."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PluginError(f"kubernetes: cannot read the kubeconfig {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PluginError(f"kubernetes: the kubeconfig {path} is not a mapping")
    base = Path(path).resolve().parent
    for section, key in (("clusters", "cluster"), ("users", "user")):
        for entry in data.get(section) or []:
            fields = entry.get(key) if isinstance(entry, dict) else None
            if not isinstance(fields, dict):
                continue
            for name in _PATH_FIELDS[key]:
                if isinstance(fields.get(name), str) and not os.path.isabs(fields[name]):
                    fields[name] = str(base / fields[name])
            if not hasattr(os, "memfd_create"):
                continue  # not Linux: the client's own temp files, removed at exit
            for data_name, file_name in _DATA_FIELDS[key].items():
                encoded = fields.get(data_name)
                if isinstance(encoded, str) and encoded:
                    try:
                        content = base64.b64decode(encoded)
                    except ValueError as exc:
                        raise PluginError(f"kubernetes: {path}: {key} {data_name} is not base64: {exc}") from exc
                    fields[file_name] = _memory_file(content)
                    del fields[data_name]
    return data
