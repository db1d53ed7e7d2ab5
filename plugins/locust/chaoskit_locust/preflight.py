"""Preflight of the locust load driver: what ``start`` would trip over, found without starting any load.

The locustfile exists and imports in a child process (with the interpreter the load children would use, so Locust
and gevent never enter the orchestrator) and defines the requested User classes; an external master answers.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from chaoskit_locust.interpreter import child_command
from chaoskit_locust.params import LocustParams

IMPORT_TIMEOUT = 45.0  # importing Locust and gevent takes seconds, many on a loaded machine

_LIST_USERS = (
    "import json, sys\n"
    "from locust.util.load_locustfile import load_locustfile\n"
    "users, _shapes = load_locustfile(sys.argv[1])\n"
    "print(json.dumps(sorted(users)))\n"
)


def locust_preflight(params: LocustParams, ctx: Context) -> list[str]:
    if params.master is not None:
        return _master_answers(params.master)
    if params.locustfile is None:
        return []  # the params model reports it
    path = Path(params.locustfile)
    if not path.is_absolute():
        path = (ctx.work_dir / path).resolve()
    if not path.is_file():
        return [f"locustfile: no such file: {path} (relative paths start at {ctx.work_dir})"]
    try:
        python = child_command()[0]
    except PluginError as exc:
        return [str(exc)]
    try:
        proc = subprocess.run(
            [python, "-c", _LIST_USERS, str(path)],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=IMPORT_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [f"locustfile {path}: importing it took longer than {IMPORT_TIMEOUT:g}s (killed)"]
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {proc.returncode}"
        return [f"locustfile {path} does not import: {last}"]
    try:
        available = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [f"locustfile {path}: could not list its User classes (got {proc.stdout[-200:]!r})"]
    if not available:
        return [f"locustfile {path} defines no User class (a subclass of locust.HttpUser, FastHttpUser or User)"]
    unknown = [name for name in params.user_classes if name not in available]
    if unknown:
        return [f"user_classes {unknown} are not in {path} (it defines: {', '.join(available)})"]
    return []


def _master_answers(url: str) -> list[str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read(1)
    except urllib.error.HTTPError:
        return []  # it answered
    except (urllib.error.URLError, OSError) as exc:
        return [f"master: the Locust master at {url} does not answer: {getattr(exc, 'reason', exc)}"]
    return []
