"""``@record``: small typed record classes, like ``@dataclass`` but free to define.

``dataclasses`` writes and compiles source code for the ``__init__``, ``__repr__`` and ``__eq__`` of every class
it decorates (and ``__setattr__``, ``__delattr__``, ``__hash__`` when frozen): about 4 M instructions per class,
paid at import by every short ``chaoskit run`` for every such class on its path. ``@record`` gives the same
constructor (positional or keyword arguments, defaults, ``field(default_factory=...)``), ``__repr__`` and
``__eq__`` from shared functions instead, and type checkers see a dataclass (``typing.dataclass_transform``).
``@record(frozen=True)`` makes instances read-only and hashable. There is no ``__post_init__``, ``InitVar``,
``kw_only``, ``slots``, ``replace`` or ``asdict``: a class that needs those stays a dataclass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")
C = TypeVar("C", bound=type)

_MISSING: Any = object()


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is made anew for each instance: ``tags: list[str] = field(default_factory=list)``."""
    made: T = _Factory(default_factory)  # type: ignore[assignment]  # stands in for a T until _make sees it
    return made


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    names: tuple[str, ...] = cls.__record_fields__
    defaults: dict[str, Any] = cls.__record_defaults__
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments but {len(args)} were given")
    values = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
        if name in values:
            raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
        values[name] = value
    for name in names:
        if name not in values:
            default = defaults.get(name, _MISSING)
            if default is _MISSING:
                raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
            values[name] = default.make() if isinstance(default, _Factory) else default
        object.__setattr__(self, name, values[name])


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in type(self).__record_fields__)


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__record_fields__)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented  # type: ignore[no-any-return]
    return bool(_values(self) == _values(other))


def _hash(self: Any) -> int:
    return hash(_values(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")


def _is_classvar(annotation: Any) -> bool:
    return str(annotation).startswith(("ClassVar", "typing.ClassVar"))


def _make(cls: C, frozen: bool) -> C:
    names: list[str] = []
    defaults: dict[str, Any] = {}
    for base in reversed(cls.__mro__[1:]):
        for name in base.__dict__.get("__record_fields__", ()):
            if name not in names:
                names.append(name)
        defaults.update(base.__dict__.get("__record_defaults__", {}))
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (the class's own, as strings; no inspect import)
    for name, annotation in own.items():
        if _is_classvar(annotation):
            continue
        if name not in names:
            names.append(name)
        if name in cls.__dict__:
            defaults[name] = cls.__dict__[name]
            if isinstance(defaults[name], _Factory):
                delattr(cls, name)
    methods: dict[str, Any] = {
        "__record_fields__": tuple(names),
        "__record_defaults__": defaults,
        "__init__": _init,
        "__repr__": _repr,
        "__eq__": _eq,
        "__hash__": _hash if frozen else None,
    }
    if frozen:
        methods |= {"__setattr__": _frozen_setattr, "__delattr__": _frozen_delattr}
    for name, method in methods.items():
        setattr(cls, name, method)
    return cls


@overload
def record(cls: C, /) -> C: ...
@overload
def record(*, frozen: bool = False) -> Callable[[C], C]: ...
@dataclass_transform(field_specifiers=(field,))
def record(cls: C | None = None, /, *, frozen: bool = False) -> C | Callable[[C], C]:
    """Make ``cls`` a record of its annotated fields (``@record`` or ``@record(frozen=True)``)."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)
