"""The run core: what one run needs besides the ordering of its phases (``chaoskit.runner``).

- :mod:`chaoskit.run.state` -- the run's state: the journal being built, behind one lock.
- :mod:`chaoskit.run.steps` -- observe, act, inject and hold, pause; the steady-state check; a dry run.
- :mod:`chaoskit.run.faults` -- the fault stack: push before inject, revert expired, revert all, late reverts.
- :mod:`chaoskit.run.monitor` -- the monitor thread (continuous steady state, ``safety.abort_when``).
- :mod:`chaoskit.run.events` -- calling the hooks (only the arguments they declare; cut by the run's wall).
- :mod:`chaoskit.run.load` -- the load driver: start, stop, its report.
- :mod:`chaoskit.run.watch` -- the safety net: :mod:`~chaoskit.run.sentinel` (one thread that polls the halt
  file and beats the guardian), :mod:`~chaoskit.run.guardian` (the dead-man process that reverts a run's ledger
  when its runner dies, freezes or ignores a halt; :mod:`~chaoskit.run.lost` writes its journal) and
  :mod:`~chaoskit.run.halt` (the kill switch, ``chaoskit halt``, and the register of live runs).
- :mod:`chaoskit.run.gameday`, :mod:`chaoskit.run.plan`, :mod:`chaoskit.run.notes` -- several runs as a game day.

Importing this package imports nothing else.
"""
