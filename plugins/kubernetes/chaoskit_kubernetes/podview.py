"""An incremental view of a set of pods: one paged list, then a watch from its resourceVersion.

The pod probes (``k8s.pods_ready``, ``k8s.no_crashloop``, ``k8s.restarts``) read counters that a watch keeps
up to date in a background thread. Each event costs O(1) -- the pod's old contribution out, the new one in --
so an observation costs the same at 50 or 50,000 pods, and memory holds three small values per pod. A view is
shared by every probe on the same cluster, namespace and selectors; it lives until the run ends (the
``chaoskit_run_finished`` hook calls :func:`close_views`) and lists again when the watch answers 410 Gone.

The time a condition became true is the arrival time of the event that made it true (waiters are checked as
each event is applied), so a probe that waits reports when the recovery happened in the stream, not when it
got around to noticing. While the watch is down (API server unreachable), observations fail with the reason.
"""

from __future__ import annotations

import contextlib
import heapq
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from chaoskit.errors import PluginError
from chaoskit_kubernetes.connection import Conn, KubeError, as_plugin_error, status_of
from chaoskit_kubernetes.listing import list_all

if TYPE_CHECKING:
    from chaoskit_kubernetes.objects import ErrorStatus, Item

State = tuple[bool, bool, int]  # Ready, crash-looping, container restarts
Predicate = Callable[["PodView"], bool]
WATCH_S = 60  # one watch request lasts this long, then it resumes from the last resourceVersion
NAMES_CAP = 10  # names listed per category in an observation (counts are always complete)


def pod_state(obj: Item) -> State:
    status = obj.status
    ready = obj.metadata.deletionTimestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in status.conditions
    )
    crash = any(
        c.state is not None and c.state.waiting is not None and c.state.waiting.reason == "CrashLoopBackOff"
        for c in [*status.containerStatuses, *status.initContainerStatuses]
    )
    return ready, crash, sum(c.restartCount for c in status.containerStatuses)


def _keep(obj: Item) -> tuple[str, State]:
    return obj.metadata.name, pod_state(obj)


@dataclass
class _Waiter:
    pred: Predicate
    met_at: float | None = None


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


class PodView:
    def __init__(self, conn: Conn, namespace: str, label_selector: str | None, field_selector: str | None) -> None:
        self.conn, self.namespace = conn, namespace
        self.selectors = {"label_selector": label_selector, "field_selector": field_selector}
        picked = " ".join(f"{k.split('_')[0]}s {v}" for k, v in self.selectors.items() if v)
        self.where = f"pods in namespace {namespace}" + (f" ({picked})" if picked else "")
        self.ready = 0
        self.restarts = 0
        self.events = 0
        self.relists = 0
        self._states: dict[str, State] = {}
        self._not_ready: set[str] = set()
        self._crashing: set[str] = set()
        self._restarting: dict[str, int] = {}
        self._version = ""
        self._live = False
        self._error: PluginError | None = None
        self._waiters: list[_Waiter] = []
        self._cond = threading.Condition()
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: Any = None

    # -- reading -----------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return len(self._states)

    @property
    def crashlooping(self) -> int:
        return len(self._crashing)

    def wait_for(self, pred: Predicate, timeout: float) -> float | None:
        """Seconds from this call until ``pred`` became true in the stream (the arrival of the event that made
        it true): 0.0 if it holds already, None if it did not within ``timeout`` seconds."""
        called = time.monotonic()
        with self._cond:
            if pred(self):
                return 0.0
            if timeout <= 0:
                return None
            waiter = _Waiter(pred)
            self._waiters.append(waiter)
            try:
                self._cond.wait_for(lambda: waiter.met_at is not None or self._stop.is_set(), timeout)
            finally:
                self._waiters.remove(waiter)
            return None if waiter.met_at is None else max(0.0, waiter.met_at - called)

    def snapshot(self, what: str, cap: int = NAMES_CAP) -> dict[str, Any]:
        """Counts, and up to ``cap`` names (sorted) of the pods not Ready, crash-looping and restarting most."""
        with self._cond:
            if not self._live:
                raise PluginError(f"{what}: the watch of {self.where} is down: {self._error}")
            top = heapq.nlargest(cap, self._restarting.items(), key=lambda kv: (kv[1], kv[0]))
            return {
                "total": len(self._states),
                "ready": self.ready,
                "not_ready": len(self._not_ready),
                "not_ready_pods": heapq.nsmallest(cap, self._not_ready),
                "crashlooping": len(self._crashing),
                "crashlooping_pods": heapq.nsmallest(cap, self._crashing),
                "restarts": self.restarts,
                "restarts_by_pod": dict(top),
            }

    # -- keeping it up to date ---------------------------------------------------------------
    def start(self, what: str) -> None:
        """List and start watching (first use), or wait up to the request timeout for a broken watch to
        resume; raise a PluginError naming ``what`` when it cannot."""
        with self._start_lock:
            if self._thread is None:
                self._relist(what)
                self._thread = threading.Thread(target=self._run, name=f"chaoskit-k8s-watch {self.where}", daemon=True)
                self._thread.start()
                return
        with self._cond:
            if not self._cond.wait_for(lambda: self._live or self._stop.is_set(), self.conn.timeout):
                raise PluginError(f"{what}: the watch of {self.where} is down: {self._error}")

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):  # best effort: the thread is a daemon and stops at its next event
                response.shutdown()  # unblocks the watch thread's read (urllib3 >= 2.3)
        with self._cond:
            self._cond.notify_all()

    def _set(self, name: str, state: State | None) -> None:
        old = self._states.pop(name, None)
        if old is not None:
            self.ready -= old[0]
            self._not_ready.discard(name)
            self._crashing.discard(name)
            self.restarts -= old[2]
            self._restarting.pop(name, None)
        if state is not None:
            self._states[name] = state
            if state[0]:
                self.ready += 1
            else:
                self._not_ready.add(name)
            if state[1]:
                self._crashing.add(name)
            if state[2]:
                self.restarts += state[2]
                self._restarting[name] = state[2]

    def _settle(self, stamp: float) -> None:
        """Stamp the waiters whose condition now holds (called with the lock held, after each change)."""
        met = False
        for waiter in self._waiters:
            if waiter.met_at is None and waiter.pred(self):
                waiter.met_at, met = stamp, True
        if met:
            self._cond.notify_all()

    def _relist(self, what: str) -> None:
        core = self.conn.core()
        items, version = list_all(
            self.conn,
            f"{what}: listing {self.where}",
            core.list_namespaced_pod,
            (self.namespace,),
            self.selectors,
            _keep,
        )
        with self._cond:
            for name in list(self._states):
                self._set(name, None)
            for name, state in items:
                self._set(name, state)
            self._version, self._live, self._error = version, True, None
            self.relists += 1
            self._settle(time.monotonic())
            self._cond.notify_all()

    def _run(self) -> None:
        backoff, expired = 0.25, False
        what = f"watching {self.where}"
        while not self._stop.is_set():
            try:
                if expired:
                    self._relist(what)
                    expired = False
                self._watch(what)
                backoff = 0.25
            except _Expired:
                expired = True
            except Exception as exc:
                if self._stop.is_set():
                    return
                error = as_plugin_error(exc, what, self.conn)
                if status_of(error) == 410:
                    expired = True
                    continue
                with self._cond:
                    self._live, self._error = False, error
                    self._cond.notify_all()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _watch(self, what: str) -> None:
        from chaoskit_kubernetes import objects  # msgspec: imported on first use, like the client

        response = self.conn.call(
            what,
            self.conn.core().list_namespaced_pod,
            self.namespace,
            watch=True,
            resource_version=self._version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_S,
            _preload_content=False,
            timeout=(self.conn.timeout, WATCH_S + self.conn.timeout),
            **self.selectors,
        )
        self._response = response
        clean = False
        with self._cond:
            self._live, self._error = True, None
            self._cond.notify_all()
        try:
            for line in lines(response):
                if self._stop.is_set():
                    return
                self._apply(*objects.event(line, what), time.monotonic())
            clean = True
        finally:
            self._response = None
            if clean:
                response.release_conn()
            else:
                response.close()

    def _apply(self, kind: str, obj: Item | ErrorStatus, stamp: float) -> None:
        if kind == "ERROR":  # objects.event decoded the object as a Status
            err = cast("ErrorStatus", obj)
            if err.code == 410:
                raise _Expired
            raise KubeError(f"watching {self.where}: {err.code} {err.message}", err.code)
        pod = cast("Item", obj)
        meta = pod.metadata
        state = pod_state(pod) if kind in ("ADDED", "MODIFIED") else None
        with self._cond:
            self._version = meta.resourceVersion or self._version
            if kind == "BOOKMARK":
                return
            self._set(meta.name, state)
            self.events += 1
            self._settle(stamp)


def lines(response: Any) -> Iterator[bytes]:
    """The non-empty lines of a streamed (chunked) response as they arrive, in linear time (the client's own
    splitter copies the rest of its buffer for every line: quadratic when many events come in one chunk)."""
    rest = b""
    for chunk in response.stream(amt=None, decode_content=False):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from (p for p in parts if p)
    if rest:
        yield rest


_views: dict[tuple[Any, ...], PodView] = {}
_lock = threading.Lock()


def pod_view(conn: Conn, namespace: str, label_selector: str | None, field_selector: str | None, what: str) -> PodView:
    """The shared, running view of these pods (listed and watched on first use)."""
    key = (conn.kubeconfig, conn.context, conn.in_cluster, namespace, label_selector, field_selector)
    with _lock:
        view = _views.get(key)
        if view is None:
            view = _views[key] = PodView(conn, namespace, label_selector, field_selector)
    view.start(what)
    return view


def close_views() -> None:
    """Stop every view's watch (end of a run)."""
    with _lock:
        views = list(_views.values())
        _views.clear()
    for view in views:
        view.stop()
