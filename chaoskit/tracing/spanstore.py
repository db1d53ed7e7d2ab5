"""Application spans received during a run, kept in bounded memory.

Each span is counted once, in the second its span *ended*, under a key (service, span name, kind and the values
of the attributes that some trace probe filters on). Per key and second the store keeps the number of spans, the
number with status ERROR, a log-scale histogram of their durations (buckets 5 % apart, so a percentile is off by
at most 2.5 %) and, capped, how many spans each parent span had (for "retries per call" counts). So a check costs
the same whatever the span rate, and memory grows with keys x seconds, not with spans:

* at most ``max_keys`` distinct keys (later ones are counted under service ``(other)``);
* at most ``retain_s`` seconds of history (older seconds are dropped as new ones arrive);
* at most ``sample`` raw spans (OTLP JSON, for ``trace.json``); spans of the run's own trace come first.
"""

from __future__ import annotations

import base64
import fnmatch
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

OTHER = "(other)"
_RATIO = math.log(1.05)
_PARENTS_PER_CELL = 1000
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class Key:
    service: str
    name: str
    kind: str
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass
class Cell:
    """The spans of one key that ended in one second."""

    count: int = 0
    errors: int = 0
    hist: dict[int, int] = field(default_factory=dict)
    parents: dict[str, int] = field(default_factory=dict)

    def add(self, error: bool, duration_ms: float, parent: str) -> None:
        self.count += 1
        self.errors += error
        bucket = _bucket(duration_ms)
        self.hist[bucket] = self.hist.get(bucket, 0) + 1
        if parent and (parent in self.parents or len(self.parents) < _PARENTS_PER_CELL):
            self.parents[parent] = self.parents.get(parent, 0) + 1


def _bucket(duration_ms: float) -> int:
    return math.ceil(math.log(max(duration_ms, 0.001) / 0.001) / _RATIO)


def _bucket_ms(bucket: int) -> float:
    """The middle of a bucket (its two bounds are 5 % apart)."""
    return 0.001 * math.exp((bucket - 0.5) * _RATIO)


@dataclass(frozen=True)
class SpanFilter:
    """Which spans a probe looks at. ``name`` is a glob (``GET /pay*``); every given attribute must be equal."""

    service: str | None = None
    name: str | None = None
    kind: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def matches(self, key: Key) -> bool:
        if self.service is not None and key.service != self.service:
            return False
        if self.kind is not None and key.kind != self.kind:
            return False
        if self.name is not None and not fnmatch.fnmatchcase(key.name, self.name):
            return False
        values = dict(key.attributes)
        return all(values.get(k) == v for k, v in self.attributes.items())


@dataclass
class WindowStats:
    """The matching spans of a time window."""

    count: int = 0
    errors: int = 0
    hist: dict[int, int] = field(default_factory=dict)
    parents: dict[str, int] = field(default_factory=dict)
    seconds: int = 0

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.count if self.count else None

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0..100) of the span durations, in ms (None without spans)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(self.count * q / 100))
        seen = 0
        for bucket in sorted(self.hist):
            seen += self.hist[bucket]
            if seen >= rank:
                return _bucket_ms(bucket)
        return _bucket_ms(max(self.hist))

    @property
    def max_per_parent(self) -> int:
        return max(self.parents.values(), default=0)


class SpanStore:
    """Thread-safe: receivers add from their threads, probes read from theirs."""

    def __init__(
        self,
        indexed_attributes: Iterable[str] = (),
        max_keys: int = 2000,
        retain_s: int = 6 * 3600,
        sample: int = 5000,
        run_trace_id: str | None = None,
    ) -> None:
        self.indexed = tuple(sorted(set(indexed_attributes)))
        self.max_keys = max_keys
        self.retain_s = retain_s
        self.sample_cap = sample
        self.run_trace_id = run_trace_id
        self.received = 0
        self.refused = 0
        self._keys: set[Key] = set()
        self._seconds: dict[int, dict[Key, Cell]] = {}
        self._sample: list[dict[str, Any]] = []
        self._sampled = 0
        self._lock = threading.Lock()

    # -- writing -------------------------------------------------------------------------------------------
    def add_request(self, request: Any) -> int:
        """Count every span of an ``ExportTraceServiceRequest`` (protobuf); return how many."""
        rows: list[tuple[Key, int, bool, float, str]] = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            service = resource.get("service.name", "unknown_service")
            for scope_spans in resource_spans.scope_spans:
                rows.extend(self._row(service, span) for span in scope_spans.spans)
                if self._sampled < self.sample_cap:
                    self._keep_sample(resource_spans, scope_spans)
        with self._lock:
            for key, second, error, duration_ms, parent in rows:
                self._count(key, second, error, duration_ms, parent)
            self.received += len(rows)
        return len(rows)

    def _row(self, service: str, span: Any) -> tuple[Key, int, bool, float, str]:
        attributes = _attributes(span.attributes) if self.indexed else {}
        key = Key(
            service,
            span.name,
            KINDS.get(span.kind, "unspecified"),
            tuple((a, attributes[a]) for a in self.indexed if a in attributes),
        )
        end = span.end_time_unix_nano
        duration_ms = max(0, end - span.start_time_unix_nano) / 1e6
        return key, end // 1_000_000_000, span.status.code == 2, duration_ms, span.parent_span_id.hex()

    def _count(self, key: Key, second: int, error: bool, duration_ms: float, parent: str) -> None:
        """Under the lock."""
        if key not in self._keys:
            if len(self._keys) >= self.max_keys:
                key = Key(OTHER, OTHER, key.kind)
            self._keys.add(key)
        cells = self._seconds.get(second)
        if cells is None:
            if len(self._seconds) >= self.retain_s:
                oldest = min(self._seconds)
                if second < oldest:
                    return  # older than everything kept, and the history is full
                del self._seconds[oldest]
            cells = self._seconds[second] = {}
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Cell()
        cell.add(error, duration_ms, parent)

    def _keep_sample(self, resource_spans: Any, scope_spans: Any) -> None:
        from google.protobuf.json_format import MessageToDict

        with self._lock:
            room = self.sample_cap - self._sampled
        if room <= 0:
            return
        ours = [s for s in scope_spans.spans if s.trace_id.hex() == self.run_trace_id]
        spans = (ours + [s for s in scope_spans.spans if s.trace_id.hex() != self.run_trace_id])[:room]
        if not spans:
            return
        entry = {
            "resource": MessageToDict(resource_spans.resource, use_integers_for_enums=True),
            "scopeSpans": [
                {
                    "scope": MessageToDict(scope_spans.scope, use_integers_for_enums=True),
                    "spans": [hex_ids(MessageToDict(s, use_integers_for_enums=True)) for s in spans],
                }
            ],
        }
        with self._lock:
            if self._sampled + len(spans) <= self.sample_cap:
                self._sample.append(entry)
                self._sampled += len(spans)

    def count_refused(self) -> None:
        with self._lock:
            self.refused += 1

    # -- reading -------------------------------------------------------------------------------------------
    def window(self, start: float, end: float, flt: SpanFilter, inner: bool = False) -> WindowStats:
        """The spans matching ``flt`` that ended in the whole seconds that touch [start, end) or, with ``inner``,
        only in the whole seconds inside it (so no span from just before or after the window counts)."""
        stats = WindowStats()
        first, last = (math.ceil(start), math.floor(end)) if inner else (math.floor(start), math.ceil(end))
        with self._lock:
            for second, cells in self._seconds.items():
                if not first <= second < last:
                    continue
                stats.seconds += 1
                for key, cell in cells.items():
                    if not flt.matches(key):
                        continue
                    stats.count += cell.count
                    stats.errors += cell.errors
                    for bucket, n in cell.hist.items():
                        stats.hist[bucket] = stats.hist.get(bucket, 0) + n
                    for parent, n in cell.parents.items():
                        stats.parents[parent] = stats.parents.get(parent, 0) + n
        return stats

    def per_second(self, start: float, end: float, flt: SpanFilter) -> list[tuple[int, WindowStats]]:
        """Each whole second in [start, end) with its matching spans (seconds without any are left out)."""
        with self._lock:
            seconds = [s for s in self._seconds if math.floor(start) <= s < math.ceil(end)]
        return [(s, self.window(s, s + 1, flt)) for s in seconds]

    def services(self) -> list[str]:
        with self._lock:
            return sorted({k.service for k in self._keys})

    def sample(self) -> list[dict[str, Any]]:
        """The raw spans kept, as OTLP/JSON ``resourceSpans`` entries."""
        with self._lock:
            return list(self._sample)


_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def hex_ids(node: Any) -> Any:
    """The protobuf JSON mapping writes bytes as base64; OTLP/JSON wants trace and span ids as hex."""
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex() if k in _ID_KEYS and isinstance(v, str) else hex_ids(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [hex_ids(v) for v in node]
    return node


def _attributes(values: Iterable[Any]) -> dict[str, str]:
    """OTLP ``KeyValue`` list -> {key: value as text} (scalar values only)."""
    out: dict[str, str] = {}
    for kv in values:
        which = kv.value.WhichOneof("value")
        if which in ("string_value", "int_value", "double_value", "bool_value"):
            value = getattr(kv.value, which)
            out[kv.key] = str(value).lower() if which == "bool_value" else str(value)
    return out
