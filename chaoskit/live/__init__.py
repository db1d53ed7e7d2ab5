"""The live view of ``chaoskit run --serve``: :mod:`.state` (what is shown, fed by the run's hooks) and
:mod:`.server` (the page, server-sent events and the HALT button)."""
