"""Paged lists (``limit``/``continue``) read as lean structs, keeping only the fields a caller needs.

The official client turns every listed object into model instances (~70 KB of memory per pod, and seconds of
CPU at thousands of pods); even :func:`json.loads` builds every field of every object. Here each page is
decoded into :mod:`chaoskit_kubernetes.objects` (only the fields chaoskit reads) and reduced at once by
``keep``, so memory holds one page's bytes plus the kept fields, and every API call has the request timeout
whatever the size of the list: a list of N objects takes ceil(N / PAGE) calls, each bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chaoskit.errors import PluginError
from chaoskit_kubernetes.connection import Conn, KubeError

if TYPE_CHECKING:
    from chaoskit_kubernetes.objects import Item

T = TypeVar("T")
PAGE = 500  # objects per list call (kubectl uses 500 too)
ATTEMPTS = 3  # a list whose continue token expired (410) starts over at most this often


def read_body(response: Any) -> bytes:
    """The body of a raw (``_preload_content=False``) response; the connection goes back to the pool."""
    try:
        return bytes(response.data)
    finally:
        response.release_conn()


def list_all(
    conn: Conn,
    what: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    keep: Callable[[Item], T | None],
    page: int | None = None,
) -> tuple[list[T], str]:
    """Every object ``fn`` lists, reduced by ``keep`` (None: skip it), and the list's resourceVersion (the
    snapshot all pages come from, where a watch starts)."""
    from chaoskit_kubernetes import objects  # msgspec: imported on first use, like the client

    for _ in range(ATTEMPTS):
        kept: list[T] = []
        version = ""
        token: str | None = None
        try:
            while True:
                extra: dict[str, Any] = {"_continue": token} if token else {}
                response = conn.call(what, fn, *args, limit=page or PAGE, _preload_content=False, **extra, **kwargs)
                data = objects.page(read_body(response), what)
                version = version or data.metadata.resourceVersion
                for item in data.items:
                    value = keep(item)
                    if value is not None:
                        kept.append(value)
                token = data.metadata.continue_
                if not token:
                    return kept, version
        except KubeError as exc:
            if exc.status != 410 or not token:  # 410 mid-list: the continue token expired, start over
                raise
    raise PluginError(f"{what}: the list kept expiring between pages ({ATTEMPTS} attempts); try again")
