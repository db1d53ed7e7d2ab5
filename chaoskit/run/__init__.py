"""The run core: what one run needs besides the ordering of its phases.

- :mod:`chaoskit.run.halt` -- the kill switch (``chaoskit halt``) and the register of live runs.
- :mod:`chaoskit.run.guardian` -- the dead-man guardian process that reverts a run's ledger when its
  runner dies, freezes or ignores a halt.
- :mod:`chaoskit.run.sentinel` -- the runner's side of both: one thread that beats the guardian and
  polls the halt file.

Importing this package imports nothing else.
"""
