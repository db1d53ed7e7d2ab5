"""The run's load: a load driver (:class:`chaoskit.plugin.LoadDriver`, Locust by default) started before the
baseline, kept up through the method and the recovery, stopped on every path out; its report becomes
``journal.load`` (:class:`chaoskit.model.load.LoadReport`)."""

from __future__ import annotations

import threading
from typing import Any

from chaoskit.loader import Loaded
from chaoskit.model.load import LoadReport
from chaoskit.plugin import Context, LoadDriver, LoadRun
from chaoskit.redaction import scrub_text
from chaoskit.registry import Registry
from chaoskit.run.events import Emit
from chaoskit.run.state import RunState
from chaoskit.timeouts import Deadline, call_with_timeout, sleep

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


class Load:
    def __init__(self, registry: Registry, loaded: Loaded, ctx: Context, state: RunState, emit: Emit) -> None:
        self.registry = registry
        self.loaded = loaded
        self.ctx = ctx
        self.state = state
        self.emit = emit
        self.run: LoadRun | None = None

    def start(self, deadline: Deadline, stop: threading.Event) -> None:
        """Start the driver (bounded, and by ``deadline``), then wait out its warm-up (woken by ``stop``)."""
        name = str((self.loaded.experiment.load or {}).get("driver", "locust"))
        driver = self.registry.instance("load", name)
        assert isinstance(driver, LoadDriver) and self.loaded.load_params is not None
        params = self.loaded.load_params
        self.run = call_with_timeout(
            lambda: driver.start(params, self.ctx), START_TIMEOUT_S, f"load driver {name} start", deadline
        )
        self.ctx.load = self.run
        self.emit("chaoskit_load_started", load=self.run)
        sleep(driver.warmup(params), stop, deadline)

    def stop(self, windows: list[dict[str, Any]]) -> str | None:
        """Stop the load and put its report (over ``windows``) in the journal. The report is asked for even when
        stopping failed: the series gathered so far is not lost. Returns why the driver failed, if it did."""
        run = self.run
        if run is None:
            return None

        def report() -> LoadReport:
            given: Any = run.report(windows)  # a third-party driver may still return a dict
            return given if isinstance(given, LoadReport) else LoadReport.model_validate(given)

        failed: str | None = None
        for what, call in (("stopping the load", run.stop), ("load report", report)):
            try:
                result = call_with_timeout(call, STOP_TIMEOUT_S, what)
            except Exception as exc:
                self.state.record_error(what, exc)
                failed = failed or f"load driver failed ({what}): {scrub_text(str(exc))}"
            else:
                if isinstance(result, LoadReport):
                    self.state.journal.load = result
        return failed


__all__ = ["Load"]
