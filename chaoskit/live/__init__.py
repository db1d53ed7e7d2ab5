"""The live view of ``chaoskit run --serve`` and ``chaoskit gameday --serve``: :mod:`.state` (what is shown, fed
by the run's hooks), :mod:`.sli` (the load's and the traces' numbers each second), :mod:`.server` (the page,
server-sent events, HALT, gates and notes), :mod:`.gate` (a gate asked in the terminal and on the page at once)
and :mod:`.feed` (the state of a parallel group's experiments, each in its own process)."""

FEED_ENV = "CHAOSKIT_LIVE_FEED"
"""Set by the plan runner for a parallel group's ``chaoskit run``: the file descriptor to write its state to."""
