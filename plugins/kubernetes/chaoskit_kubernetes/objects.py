"""Lean shapes of the API objects chaoskit reads: only the fields it uses, decoded with msgspec.

A listed pod is ~7 KB of JSON. :func:`json.loads` turns all of it into dicts and strings (~10x its size in
memory, and most of the CPU of a list of thousands of pods); decoding into these structs skips every other
field without building anything for it. Field names are the API's (camelCase), so nothing is renamed.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from chaoskit.errors import PluginError

T = TypeVar("T")


class OwnerRef(msgspec.Struct):
    kind: str = ""


class Meta(msgspec.Struct):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resourceVersion: str = ""
    deletionTimestamp: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    ownerReferences: list[OwnerRef] = []


class Condition(msgspec.Struct):
    type: str = ""
    status: str = ""


class Waiting(msgspec.Struct):
    reason: str = ""


class ContainerState(msgspec.Struct):
    waiting: Waiting | None = None


class ContainerStatus(msgspec.Struct):
    restartCount: int = 0
    state: ContainerState | None = None


class Spec(msgspec.Struct):
    nodeName: str | None = None  # pods
    unschedulable: bool = False  # nodes


class Status(msgspec.Struct):
    phase: str = ""
    conditions: list[Condition] = []
    containerStatuses: list[ContainerStatus] = []
    initContainerStatuses: list[ContainerStatus] = []


class Item(msgspec.Struct):
    """A pod or a node, as far as chaoskit reads it."""

    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: Spec = msgspec.field(default_factory=Spec)
    status: Status = msgspec.field(default_factory=Status)


class ListMeta(msgspec.Struct):
    resourceVersion: str = ""
    continue_: str | None = msgspec.field(default=None, name="continue")


class Page(msgspec.Struct, Generic[T]):
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
    items: list[T] = []


class Event(msgspec.Struct):
    """A watch event; ``object`` is decoded by its type: an :class:`Item`, or an :class:`ErrorStatus`."""

    type: str = ""
    object: msgspec.Raw = msgspec.Raw(b"{}")


class ErrorStatus(msgspec.Struct):
    """The Status object of a watch ERROR event (e.g. 410 Gone)."""

    code: int | None = None
    message: str = ""


_pages = msgspec.json.Decoder(Page[Item])
_events = msgspec.json.Decoder(Event)
_items = msgspec.json.Decoder(Item)
_errors = msgspec.json.Decoder(ErrorStatus)


def page(data: bytes, what: str) -> Page[Item]:
    """One page of a list; a PluginError when the answer is not one (e.g. a proxy's HTML error page)."""
    try:
        return _pages.decode(data)
    except msgspec.DecodeError as exc:  # ValidationError too: a field of an unexpected type
        raise PluginError(f"{what}: the API server's answer is not a list of the expected objects: {exc}") from exc


def event(data: bytes, what: str) -> tuple[str, Item | ErrorStatus]:
    """A watch event line: its type and its object (an ErrorStatus for ERROR events)."""
    try:
        ev = _events.decode(data)
        return ev.type, (_errors if ev.type == "ERROR" else _items).decode(ev.object)
    except msgspec.DecodeError as exc:
        raise PluginError(f"{what}: the API server sent a watch event that is not the expected object: {exc}") from exc
