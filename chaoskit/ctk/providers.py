"""CTK's three providers with CTK's result shapes: ``python`` (the function's return value), ``process``
(``{status, stdout, stderr}``; a non-zero exit is a result, not a failure) and ``http``
(``{status, headers, body}``; a 4xx/5xx is a result, not a failure; the body is parsed when the response's
Content-Type is exactly ``application/json``).

Differences from CTK, on purpose: every call has a timeout (the provider's or the activity's ``timeout``,
else :data:`DEFAULT_TIMEOUT`), where CTK waits forever; the experiment's folder is importable for
``python`` providers (CTK needs PYTHONPATH). A call into ``chaosk8s``/``chaostoxi`` goes to
:mod:`chaoskit.ctk.extensions` when that module maps it.
"""

from __future__ import annotations

import functools
import inspect
import json
import shutil
import ssl
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaoskit.ctk.model import Activity, HttpProvider, ProcessProvider, PythonProvider
from chaoskit.ctk.values import Secrets, substitute
from chaoskit.errors import ActivityTimeout, PluginError
from chaoskit.plugin import Context
from chaoskit.timeouts import call_with_timeout

DEFAULT_TIMEOUT = 300.0
"""Seconds a provider call may take when neither the provider nor the activity sets a timeout."""


class ActivityFailed(Exception):
    """An activity failed (CTK's ``ActivityFailed``): it raised, timed out or could not connect."""


@dataclass
class CallContext:
    """What a provider call needs besides the activity."""

    configuration: Mapping[str, Any]
    secrets: Secrets
    work_dir: Path
    extension: Callable[[PythonProvider, dict[str, Any], Activity], Any] | None = None
    """Runs a mapped chaosk8s/chaostoxi call (None: call the Python function itself)."""
    extension_modules: frozenset[str] = field(default_factory=frozenset)


def run_provider(activity: Activity, ctx: CallContext) -> Any:
    provider = activity.provider
    assert provider is not None
    if isinstance(provider, PythonProvider):
        return _python(provider, activity, ctx)
    if isinstance(provider, ProcessProvider):
        return _process(provider, activity, ctx)
    return _http(provider, activity, ctx)


def dynamic_configuration(declared: Mapping[str, Any], ctx: CallContext) -> tuple[dict[str, Any], list[str]]:
    """CTK's dynamic configuration: a value declared as a probe gets the probe's output (python: the return
    value; process: stdout, stripped, when it exits 0; http: the body). A probe that fails leaves the value out,
    as in CTK; the reasons are returned."""
    conf = dict(ctx.configuration)
    errors: list[str] = []
    for key, value in declared.items():
        if not (isinstance(value, dict) and value.get("type") == "probe"):
            continue
        conf.pop(key, None)
        probe = Activity.model_validate(value)
        try:
            output = run_provider(probe, CallContext(conf, ctx.secrets, ctx.work_dir))
        except ActivityFailed as exc:
            errors.append(f"dynamic configuration {key!r} was not loaded: {exc}")
            continue
        kind = probe.provider.type if probe.provider else "python"
        if kind == "process" and output["status"] != 0:
            errors.append(f"dynamic configuration {key!r}: the process exited {output['status']}")
        elif kind == "process":
            conf[key] = output.get("stdout", "").strip()
        else:
            conf[key] = output.get("body") if kind == "http" else output
    return conf, errors


def _timeout(value: Any, activity: Activity, ctx: CallContext) -> float:
    value = substitute(value, ctx.configuration, ctx.secrets)
    if isinstance(value, list | tuple) and value:
        value = max(value)
    if value is None:
        value = activity.timeout
    try:
        seconds = float(value) if value is not None else DEFAULT_TIMEOUT
    except (TypeError, ValueError):
        raise ActivityFailed(f"timeout {value!r} is not a number of seconds") from None
    return seconds if seconds > 0 else DEFAULT_TIMEOUT


def _with_timeout(fn: Callable[[], Any], seconds: float, what: str) -> Any:
    try:
        return call_with_timeout(fn, seconds, what)
    except ActivityTimeout:
        raise ActivityFailed("activity took too long to complete") from None


def _python(provider: PythonProvider, activity: Activity, ctx: CallContext) -> Any:
    arguments = dict(substitute(provider.arguments, ctx.configuration, ctx.secrets) or {})
    if ctx.extension is not None and provider.module in ctx.extension_modules:
        return _with_timeout(
            lambda: ctx.extension(provider, arguments, activity),  # type: ignore[misc]
            _timeout(None, activity, ctx),
            f"{provider.module}.{provider.func}",
        )
    func = resolve_function(provider.module, provider.func, ctx.work_dir)
    params = _parameters(func)
    if provider.secrets is not None and "secrets" in params:
        merged: dict[str, Any] = {}
        for scope in provider.secrets:
            merged.update(ctx.secrets.get(scope, {}))
        arguments["secrets"] = merged
    if "configuration" in params:
        arguments["configuration"] = dict(ctx.configuration)

    def call() -> Any:
        try:
            return func(**arguments)
        except Exception as exc:  # user code: any exception is the activity failing, as in CTK
            raise ActivityFailed(traceback.format_exception_only(type(exc), exc)[0].strip()) from exc

    return _with_timeout(call, _timeout(None, activity, ctx), f"{provider.module}.{provider.func}")


def resolve_function(module: str, func: str, work_dir: Path) -> Callable[..., Any]:
    """Import ``module`` (the experiment's folder is importable) and return ``func`` from it."""
    from chaoskit.providers.python import _resolve

    try:
        return _resolve(f"{module}:{func}", Context(work_dir=work_dir))
    except PluginError as exc:
        raise ActivityFailed(str(exc)) from exc


def _parameters(func: Callable[..., Any]) -> Mapping[str, inspect.Parameter]:
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}


def process_argv(
    provider: ProcessProvider, configuration: Mapping[str, Any], secrets: Secrets
) -> tuple[list[str] | str, bool]:
    """The command as CTK builds it: a string of arguments goes through the shell after the path; a mapping
    is flattened to key, value pairs; empty items are dropped."""
    path = shutil.which(str(Path(provider.path).expanduser())) or provider.path
    arguments = substitute(provider.arguments, configuration, secrets) if provider.arguments else provider.arguments
    if isinstance(arguments, str):
        return f"{path} {arguments}", True
    items: list[Any] = []
    if isinstance(arguments, dict):
        for key, value in arguments.items():
            items.extend((key, value))
    else:
        items = list(arguments or [])
    return [path, *(str(item) for item in items if item not in (None, ""))], False


def _process(provider: ProcessProvider, activity: Activity, ctx: CallContext) -> Any:
    from chaoskit.providers.process import ProcessParams, _run

    argv, shell = process_argv(provider, ctx.configuration, ctx.secrets)
    params = ProcessParams(command=argv, shell=shell, timeout=_timeout(provider.timeout, activity, ctx))
    try:
        proc = _run(params, Context(work_dir=Path.cwd()))
    except PluginError as exc:
        if "did not exit within" in str(exc):
            raise ActivityFailed("process activity took too long to complete") from exc
        raise ActivityFailed(str(exc)) from exc
    return {"status": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def _http(provider: HttpProvider, activity: Activity, ctx: CallContext) -> Any:
    conf, secrets = ctx.configuration, ctx.secrets
    url = str(substitute(provider.url, conf, secrets))
    method = provider.method.upper()
    headers = {str(k): str(v) for k, v in (substitute(provider.headers, conf, secrets) or {}).items()}
    arguments = substitute(provider.arguments, conf, secrets) if provider.arguments else provider.arguments
    data: bytes | None = None
    if method == "GET":
        if isinstance(arguments, dict) and arguments:
            url += ("&" if urllib.parse.urlparse(url).query else "?") + urllib.parse.urlencode(arguments, doseq=True)
    elif arguments is not None:
        if headers.get("Content-Type") == "application/json":
            data = json.dumps(arguments).encode()
        elif isinstance(arguments, dict):
            data = urllib.parse.urlencode(arguments, doseq=True).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            data = (arguments if isinstance(arguments, str) else json.dumps(arguments)).encode()
    timeout = _timeout(provider.timeout, activity, ctx)
    context = None
    if url.startswith("https:") and not provider.verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    call = functools.partial(_send, request, timeout, context, provider.max_retries)
    return _with_timeout(call, timeout + 1.0, f"HTTP {method} {url}")


def _send(request: urllib.request.Request, timeout: float, context: ssl.SSLContext | None, retries: int) -> Any:
    url = request.full_url
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                return _result(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            return _result(exc.code, exc.headers, exc.read())
        except TimeoutError:
            raise ActivityFailed("activity took too long to complete") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise ActivityFailed("activity took too long to complete") from None
            if attempt == retries:
                raise ActivityFailed(f"failed to connect to {url}: {reason}") from None
    raise AssertionError("unreachable")


def _result(status: int, headers: Any, raw: bytes) -> dict[str, Any]:
    header_map = dict(headers.items()) if headers is not None else {}
    text = raw.decode("utf-8", errors="replace")
    body: Any = text
    if headers is not None and headers.get("Content-Type") == "application/json":  # case-insensitive lookup
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ActivityFailed(f"the response claims JSON but is not: {exc}") from None
    return {"status": status, "headers": header_map, "body": body}
