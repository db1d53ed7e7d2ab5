"""The core change tracing needs: plugin calls run in a copy of the caller's context variables."""

from __future__ import annotations

import threading
from contextvars import ContextVar, copy_context

from chaoskit.timeouts import call_with_timeout

current: ContextVar[str] = ContextVar("current", default="none")


def test_a_plugin_call_sees_the_context_of_the_thread_that_made_it() -> None:
    seen: dict[str, str] = {}

    def caller(name: str) -> None:
        current.set(name)
        seen[name] = call_with_timeout(current.get, 10, f"probe from {name}")

    threads = [threading.Thread(target=caller, args=(f"thread-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert seen == {f"thread-{i}": f"thread-{i}" for i in range(4)}
    assert current.get() == "none"  # nothing leaked into this thread


def test_changes_made_by_the_plugin_stay_in_its_copy() -> None:
    def caller() -> str:
        current.set("caller")
        call_with_timeout(lambda: current.set("plugin"), 10, "setter")
        return current.get()

    assert copy_context().run(caller) == "caller"
