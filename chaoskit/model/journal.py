"""The journal: one JSON file per run, with a versioned schema (``schema``)."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from chaoskit.model.load import LoadReport
from chaoskit.model.outcome import EXIT_CODES as EXIT_CODES
from chaoskit.model.outcome import Outcome as Outcome

JOURNAL_SCHEMA = "chaoskit.journal/1"


class Phase(StrEnum):
    """The phases of a run, in order (``PhaseRecord.name``, ``ObservationRecord.phase``, hook arguments).
    ``safety`` names observations of ``safety.abort_when`` probes (taken during the method); ``dry-run`` the
    activities of a dry run."""

    WARMUP = "warmup"
    BASELINE = "baseline"
    METHOD = "method"
    REVERT = "revert"
    RECOVERY = "recovery"
    ROLLBACKS = "rollbacks"
    SAFETY = "safety"
    DRY_RUN = "dry-run"


class _Record(BaseModel):
    # Journal records are built up while the run goes on, so they are mutable; unknown keys still fail.
    model_config = ConfigDict(extra="forbid")


class PhaseRecord(_Record):
    name: str
    started_at: float
    ended_at: float | None = None


class ObservationRecord(_Record):
    probe: str
    plugin: str
    phase: str
    started_at: float
    duration_s: float
    ok: bool | None = Field(
        description="Did the observation meet its tolerance (None: no tolerance, or a recovery sample with no data "
        "yet: neither a miss nor a pass). For a safety.abort_when "
        "condition: was it safe, i.e. not triggered (see `triggered`)."
    )
    triggered: bool | None = Field(
        default=None, description="safety.abort_when conditions only: did the condition match (it stops the run)."
    )
    reason: str = ""
    value: JsonValue = None
    details: dict[str, JsonValue] = Field(default={})
    error: str | None = None


class FaultRecord(_Record):
    name: str
    plugin: str
    params: dict[str, Any]
    ledger_id: str
    target: str = Field(default="", description="What the fault touches, in words (the plugin's describe()).")
    revert_info: dict[str, Any] = Field(default={})
    injected_at: float | None = None
    reverted_at: float | None = None
    error: str | None = None
    revert_error: str | None = None


class ActivityRecord(_Record):
    name: str
    plugin: str
    phase: str
    started_at: float
    ended_at: float | None = None
    result: JsonValue = None
    error: str | None = None


class NoteRecord(_Record):
    at: float = Field(description="When the note was taken (epoch s).")
    by: str = Field(default="", description="Who or where: the live view (and its client), a gate, the terminal.")
    text: str


class ErrorRecord(_Record):
    where: str
    type: str
    message: str
    traceback: str | None = None


class TraceWindowRow(_Record):
    service: str
    window: str = Field(description="before | fault <name> | after revert")
    spans: int
    errors: int
    p95_ms: float | None = None


class TracesRecord(_Record):
    """The application's spans received during the run (``tracing.receive``)."""

    http: str | None = Field(default=None, description="Where OTLP/HTTP was received (HOST:PORT).")
    grpc: str | None = Field(default=None, description="Where OTLP/gRPC was received (HOST:PORT).")
    received: int = 0
    refused: int = Field(default=0, description="Requests refused (too big, malformed, no token).")
    last_refusal: str = ""
    services: list[str] = Field(default=[])
    windows: list[TraceWindowRow] = Field(
        default=[], description="Server spans per service and window (whole seconds inside it)."
    )
    ttr_s: float | None = Field(default=None, description="Trace-derived time to recovery after the last revert.")
    ttr_rule: str = ""


class Journal(_Record):
    schema_: str = Field(default=JOURNAL_SCHEMA, alias="schema")
    run_id: str
    chaoskit_version: str
    title: str
    source: str | None = None
    experiment: dict[str, Any] = Field(description="The resolved experiment, secrets redacted.")
    dry_run: bool = False
    started_at: float
    ended_at: float | None = None
    outcome: Outcome | None = None
    exit_code: int | None = None
    reason: str = ""
    ttr_s: float | None = Field(default=None, description="Time to recovery after the last revert.")
    phases: list[PhaseRecord] = Field(default=[])
    observations: list[ObservationRecord] = Field(default=[])
    faults: list[FaultRecord] = Field(default=[])
    activities: list[ActivityRecord] = Field(default=[])
    errors: list[ErrorRecord] = Field(default=[])
    notes: list[NoteRecord] = Field(
        default=[], description="Notes participants took while the run went (a game day's live view)."
    )
    load: LoadReport | None = Field(default=None, description="What the load driver reported (chaoskit.model.load).")
    traces: TracesRecord | None = None
    trace_id: str | None = None
    artifacts: dict[str, str] = Field(default={}, description="Other files of this run (trace, report).")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def phase(self, name: str) -> PhaseRecord | None:
        for p in reversed(self.phases):
            if p.name == name:
                return p
        return None
