"""``chaoskit.record``: what the report, game day and tracing records rely on (the dataclass behaviour kept)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from chaoskit.record import field, record


@record(frozen=True)
class Window:
    name: str
    start: float
    kind: str = "before"
    LIMIT: ClassVar[int] = 3


@record
class Facts:
    window: Window
    items: list[int] = field(default_factory=list)
    note: str = ""


@record
class MoreFacts(Facts):
    extra: int = 0


def test_constructor_takes_positional_keyword_and_default_arguments() -> None:
    w = Window("a", 1.5)
    assert (w.name, w.start, w.kind) == ("a", 1.5, "before")
    assert Window(start=2.0, name="b", kind="fault").kind == "fault"
    assert Window.LIMIT == 3 and "LIMIT" not in repr(w)


def test_default_factory_gives_each_instance_its_own_value() -> None:
    one, two = Facts(Window("a", 0.0)), Facts(Window("b", 0.0))
    one.items.append(1)
    assert one.items == [1] and two.items == []
    assert not hasattr(Facts, "items")  # the factory is not left on the class


def test_bad_calls_name_the_class_and_the_argument() -> None:
    with pytest.raises(TypeError, match=r"Window\(\) missing required argument: 'start'"):
        Window("a")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'nope'"):
        Window("a", 1.0, nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"multiple values for argument 'name'"):
        Window("a", 1.0, name="b")  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"takes 3 positional arguments but 4 were given"):
        Window("a", 1.0, "x", 4)  # type: ignore[call-arg]


def test_equality_repr_and_hash() -> None:
    assert Window("a", 1.0) == Window("a", 1.0) != Window("a", 2.0)
    as_tuple: object = ("a", 1.0, "before")
    assert Window("a", 1.0) != as_tuple
    assert repr(Window("a", 1.0)) == "Window(name='a', start=1.0, kind='before')"
    assert len({Window("a", 1.0), Window("a", 1.0)}) == 1
    with pytest.raises(TypeError, match="unhashable"):
        hash(Facts(Window("a", 1.0)))


def test_frozen_instances_are_read_only_and_others_are_not() -> None:
    w = Window("a", 1.0)
    with pytest.raises(AttributeError, match="cannot assign to field 'name' of a frozen Window"):
        w.name = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="cannot delete field 'name'"):
        del w.name
    f = Facts(w)
    f.note = "changed"
    assert f.note == "changed"


def test_a_subclass_adds_its_fields_after_the_base_ones() -> None:
    m = MoreFacts(Window("a", 1.0), [1], "n", 7)
    assert (m.items, m.note, m.extra) == ([1], "n", 7)
    assert MoreFacts(Window("a", 1.0)).extra == 0
    assert repr(m).startswith("MoreFacts(window=Window(")
