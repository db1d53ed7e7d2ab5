"""chaoskit-host: faults and probes for processes and resources of the local machine (Linux, /proc).

Importing this package is free: it imports nothing but the standard library. The plugin classes
live in :mod:`chaoskit_host.signals`, :mod:`chaoskit_host.stress`, :mod:`chaoskit_host.disk` and
:mod:`chaoskit_host.probes`, registered through entry points.
"""
