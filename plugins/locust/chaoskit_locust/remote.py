"""``master:``: load from an external Locust master (its web UI, e.g. ``http://127.0.0.1:8089``).

chaoskit starts the swarm there (``POST /swarm`` with ``users``, ``spawn_rate`` and ``host``), polls
``GET /stats/requests`` twice a second and stops the swarm at the end (``POST /stop``); it does not own those
processes. Request and failure counts per second are exact (deltas of the master's counters). Latency is not:
the master publishes only its rolling (about 10 s) percentiles, so each second's latency histogram is
rebuilt from the master's current p50/p95/p99 (documented limitation). Workers report to the master every
3 s, so the stats delay is a few seconds in this mode.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from chaoskit.errors import PluginError
from chaoskit.model.load import LoadReport
from chaoskit.plugin import Context, LoadRun
from chaoskit_locust.params import LocustParams
from chaoskit_locust.report import build_report, settle
from chaoskit_locust.series import Series, Stats, bucket_ms, tick_of

POLL_S = 0.5
HTTP_TIMEOUT_S = 5.0


def _call(url: str, data: dict[str, Any] | None = None) -> Any:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            return json.loads(response.read() or b"null")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PluginError(f"locust master {url}: {getattr(exc, 'reason', exc)}") from None


def synthetic_hist(count: int, p50: float | None, p95: float | None, p99: float | None) -> dict[int, int]:
    """``count`` requests spread so that their p50/p95/p99 are the master's current ones."""
    if count <= 0 or p50 is None:
        return {}
    upper95 = p95 if p95 is not None else p50
    upper99 = p99 if p99 is not None else upper95
    low = min(count, count // 2 + 1)  # more than half: Locust's p50 rule
    high = max(0, count * 99 // 100 - low)
    top = count - low - high
    hist: dict[int, int] = {}
    for value, n in ((p50, low), (upper95, high), (upper99, top)):
        if n:
            key = bucket_ms(value)
            hist[key] = hist.get(key, 0) + n
    return hist


class RemoteRun(LoadRun):
    def __init__(self, params: LocustParams) -> None:
        assert params.master is not None
        self.params = params
        self.base = params.master.rstrip("/")
        self.series = Series()
        self.started_at = time.time()
        self.stopped_at: float | None = None
        self.delays: list[float] = []
        self.failure: str | None = None
        self.last_ok = time.monotonic()
        self._seen: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="chaoskit: locust master", daemon=True)
        self.ctx: Context | None = None

    def begin(self, ctx: Context) -> None:
        self.ctx = ctx
        form: dict[str, Any] = {"user_count": self.params.users, "spawn_rate": self.params.spawn_rate}
        if self.params.host:
            form["host"] = self.params.host
        for name in self.params.user_classes:
            form.setdefault("user_classes", name)  # the web form takes one; more need the master's own setup
        answer = _call(f"{self.base}/swarm", form)
        if not isinstance(answer, dict) or not answer.get("success", False):
            message = answer.get("message") if isinstance(answer, dict) else answer
            raise PluginError(f"locust master {self.base} refused to start the swarm: {message}")
        self.started_at = time.time()
        self._absorb(_call(f"{self.base}/stats/requests"), baseline=True)
        self._thread.start()

    def _absorb(self, report: Any, baseline: bool = False) -> None:
        if not isinstance(report, dict):
            return
        now = time.time()
        current = report.get("current_response_time_percentiles") or {}
        p50 = current.get("response_time_percentile_0.5")
        p95 = current.get("response_time_percentile_0.95")
        p99 = current.get("response_time_percentile_0.99")
        endpoints: dict[str, Any] = {}
        for entry in report.get("stats") or []:
            name = str(entry.get("name"))
            if name == "Aggregated":
                continue
            key = f"{entry.get('method')} {name}"
            n, f = int(entry.get("num_requests", 0)), int(entry.get("num_failures", 0))
            old_n, old_f = self._seen.get(key, (0, 0))
            self._seen[key] = (n, f)
            dn, df = max(0, n - old_n), max(0, f - old_f)
            if not baseline and (dn or df):
                cell = endpoints.setdefault(name, {"n": 0, "f": 0, "rt": {}})
                cell["n"] += dn
                cell["f"] += df
                for ms, count in synthetic_hist(dn, p50, p95, p99).items():
                    cell["rt"][ms] = cell["rt"].get(ms, 0) + count
        if endpoints:
            self.series.add(tick_of(now), endpoints)

    def _poll(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self._absorb(_call(f"{self.base}/stats/requests"))
                self.last_ok = time.monotonic()
            except PluginError as exc:
                if time.monotonic() - self.last_ok > self.params.stall_timeout:
                    self.failure = f"load failed: {exc} (for more than {self.params.stall_timeout:g}s)"
                    return

    def until(self) -> float:
        return time.time() if self.stopped_at is None else self.stopped_at

    def window(
        self, last: float, endpoint: str | None = None, since: float | None = None
    ) -> tuple[float, float, Stats]:
        """The stats of the last ``last`` seconds (not before ``since``), with the window's start and end."""
        if self.failure is not None:
            raise PluginError(self.failure)
        end = self.until()
        start, stats = self.series.recent(last, end, self.started_at, endpoint, since)
        return start, max(start, end), stats  # empty (start == end) right after the revert

    def stop(self) -> None:
        if self.stopped_at is None:
            if self.failure is None and self.ctx is not None:  # measure the load's recovery first (bounded)
                settle(self.series, self.ctx.observed_since, self.params.recovery)
            self.stopped_at = time.time()
            self._stop.set()
            self._thread.join(HTTP_TIMEOUT_S + 1)
            try:
                _call(f"{self.base}/stop", {})
            except PluginError as exc:
                self.failure = self.failure or f"could not stop the swarm: {exc}"
        if self.failure is not None:
            raise PluginError(self.failure)

    def report(self, phases: list[dict[str, Any]]) -> LoadReport:
        report = {**build_report(self, phases, self.params.recovery), "mode": "master", "master": self.base}
        return LoadReport.model_validate(report)
