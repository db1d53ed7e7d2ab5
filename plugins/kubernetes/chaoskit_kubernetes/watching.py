"""List, then watch until a condition holds (bounded): recovery seen as soon as the API server reports it,
not at the next poll."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from chaoskit_kubernetes.connection import Conn, as_plugin_error

Judge = Callable[[list[Any]], tuple[Any, bool]]


def observe_until(
    conn: Conn,
    what: str,
    list_fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    judge: Judge,
    wait: float,
) -> tuple[Any, bool, float]:
    """Judge the listed objects; if not ok and ``wait`` > 0, watch and re-judge on every event until ok or
    ``wait`` seconds passed. Returns (result, ok, seconds waited)."""
    start = time.monotonic()
    listed = conn.call(what, list_fn, *args, **kwargs)
    objects = {_key(o): o for o in listed.items}
    result, ok = judge(list(objects.values()))
    version = listed.metadata.resource_version
    watched = False
    while not ok and (left := wait - (time.monotonic() - start)) > 0:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        watched = True
        stream = watch.Watch()  # type: ignore[no-untyped-call]
        try:
            for event in stream.stream(  # type: ignore[no-untyped-call]
                list_fn,
                *args,
                resource_version=version,
                timeout_seconds=max(1, math.ceil(left)),
                _request_timeout=(conn.timeout, left + conn.timeout),
                **kwargs,
            ):
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":
                    raise ApiException(status=410, reason="watch expired")
                if kind == "BOOKMARK":
                    continue
                version = obj.metadata.resource_version
                if kind == "DELETED":
                    objects.pop(_key(obj), None)
                else:
                    objects[_key(obj)] = obj
                result, ok = judge(list(objects.values()))
                if ok or time.monotonic() - start >= wait:
                    break
        except ApiException as exc:
            if exc.status != 410:
                raise as_plugin_error(exc, what, conn) from exc
            listed = conn.call(what, list_fn, *args, **kwargs)  # history compacted: list again
            objects = {_key(o): o for o in listed.items}
            result, ok = judge(list(objects.values()))
            version = listed.metadata.resource_version
        except Exception as exc:
            if time.monotonic() - start < wait:  # a dropped stream within the window is an error, a timeout is not
                raise as_plugin_error(exc, what, conn) from exc
        finally:
            stream.stop()  # type: ignore[no-untyped-call]
    return result, ok, round(time.monotonic() - start, 3) if watched else 0.0


def _key(obj: Any) -> str:
    return f"{obj.metadata.namespace}/{obj.metadata.name}"
