"""The experiment format (YAML or JSON). Validated in two phases: this core model first,
then each plugin's own parameter model for its ``with:`` block."""

from typing import Any, Literal, Self

from pydantic import Field, JsonValue, field_validator, model_validator

from chaoskit.durations import Duration
from chaoskit.model.base import StrictModel
from chaoskit.model.regression import Regression
from chaoskit.model.tolerance import Expect

PLUGIN_NAME = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"


class ProbeSpec(StrictModel):
    """A probe: a plugin that observes, with its parameters and what to expect."""

    name: str | None = Field(default=None, description="A label for reports; defaults to the plugin name.")
    probe: str = Field(pattern=PLUGIN_NAME, description="The probe plugin, e.g. 'http' or 'load.error_rate'.")
    with_: dict[str, Any] = Field(default={}, alias="with", description="The plugin's parameters.")
    expect: Expect | None = Field(default=None, description="The tolerance the observation must meet.")
    timeout: Duration = Field(default=10.0, gt=0, description="Cancel the probe after this long.")

    @property
    def label(self) -> str:
        return self.name or self.probe


class Step(StrictModel):
    """One step of the method: exactly one of ``fault``, ``action``, ``probe`` or ``pause``."""

    name: str | None = None
    fault: str | None = Field(default=None, pattern=PLUGIN_NAME, description="A fault plugin to inject.")
    action: str | None = Field(default=None, pattern=PLUGIN_NAME, description="An action plugin to run.")
    probe: str | None = Field(default=None, pattern=PLUGIN_NAME, description="A probe plugin to observe.")
    pause: Duration | None = Field(default=None, description="Wait this long (probes keep running).")
    with_: dict[str, Any] = Field(default={}, alias="with", description="The plugin's parameters.")
    duration: Duration | None = Field(
        default=None,
        description="Faults: hold this long, then revert. Without it the fault stays until the method ends.",
    )
    background: bool = Field(
        default=False, description="Do not wait for this step: the method goes on while it holds or runs."
    )
    expect: Expect | None = Field(default=None, description="Probe steps: a tolerance; a miss is a deviation.")
    timeout: Duration = Field(default=30.0, gt=0, description="Cancel the inject/action/probe call after this.")
    on_error: Literal["stop", "continue"] = Field(
        default="stop",
        description=(
            "Action steps in the method: when the action fails (raises, exits non-zero, times out), 'stop' "
            "(the default) ends the run as error; 'continue' records the failure and goes on with the method, "
            "and the steady state is still judged. A fault that fails to inject always ends the run as error."
        ),
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [k for k in ("fault", "action", "probe", "pause") if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(f"a step needs exactly one of fault, action, probe or pause (found: {found})")
        kind = kinds[0]
        if self.duration is not None and kind not in ("fault", "action"):
            raise ValueError(f"duration applies to fault steps, not to a {kind} step")
        if self.expect is not None and kind != "probe":
            raise ValueError(f"expect applies to probe steps, not to a {kind} step")
        if self.on_error == "continue" and kind != "action":
            why = (
                "a fault that fails to inject always ends the run as error"
                if kind == "fault"
                else f"a {kind} step cannot fail as an action can"
            )
            raise ValueError(f"on_error: continue applies to action steps only ({why})")
        if kind == "pause" and self.with_:
            raise ValueError("a pause step takes no 'with' parameters")
        return self

    @property
    def kind(self) -> Literal["fault", "action", "probe", "pause"]:
        for k in ("fault", "action", "probe"):
            if getattr(self, k) is not None:
                return k  # type: ignore[return-value,unused-ignore]
        return "pause"

    @property
    def plugin(self) -> str | None:
        return self.fault or self.action or self.probe

    @property
    def label(self) -> str:
        return self.name or self.plugin or f"pause {self.pause:g}s"


class SteadyState(StrictModel):
    """The hypothesis: every probe's observation meets its ``expect``."""

    strategy: Literal["default", "continuous", "before", "skip"] = Field(
        default="default",
        description=(
            "default: check before the method and poll for recovery after it; continuous: also check "
            "every `frequency` during the method; before: only the baseline; skip: no hypothesis."
        ),
    )
    frequency: Duration = Field(default=1.0, gt=0, description="How often continuous checks run.")
    probes: list[ProbeSpec] = Field(default=[])

    @model_validator(mode="after")
    def _probes_expect(self) -> Self:
        missing = [i for i, p in enumerate(self.probes) if p.expect is None]
        if missing:
            raise ValueError(
                "every steady-state probe needs an 'expect' tolerance (missing in probes "
                + ", ".join(f"[{i}]" for i in missing)
                + ")"
            )
        if self.strategy != "skip" and not self.probes:
            raise ValueError("a steady state needs at least one probe (or strategy: skip)")
        return self


class Recovery(StrictModel):
    within: Duration = Field(default=30.0, ge=0, description="The steady state must hold again within this.")
    interval: Duration = Field(default=1.0, gt=0, description="Poll interval; the resolution of TTR.")


class GuardianSpec(StrictModel):
    """The dead-man guardian: a separate process that reverts the run's faults when the runner dies or freezes."""

    enabled: bool = Field(default=True, description="Start a guardian before the first inject.")
    heartbeat: Duration = Field(default=1.0, gt=0, le=60, description="How often the runner signals it is alive.")
    grace: Duration = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="A runner silent this long (or still running this long after a halt) is killed and its "
        "faults reverted by the guardian. A killed runner is noticed at once.",
    )

    @model_validator(mode="after")
    def _grace_covers_beats(self) -> Self:
        if self.grace < 2 * self.heartbeat:
            raise ValueError(f"grace ({self.grace:g}s) must be at least twice the heartbeat ({self.heartbeat:g}s)")
        return self


class Safety(StrictModel):
    max_duration: Duration = Field(default=600.0, gt=0, description="Hard cap on the run (before reverts).")
    revert_timeout: Duration = Field(default=30.0, gt=0, description="Cap on each fault's revert.")
    interval: Duration = Field(default=1.0, gt=0, description="How often abort_when probes are checked.")
    abort_when: list[ProbeSpec] = Field(
        default=[],
        description="Probes checked every interval during the method; the run aborts when one's expect MATCHES.",
    )
    guardian: GuardianSpec = Field(default_factory=GuardianSpec, description="The dead-man guardian process.")

    @field_validator("abort_when")
    @classmethod
    def _need_expect(cls, probes: list[ProbeSpec]) -> list[ProbeSpec]:
        for i, p in enumerate(probes):
            if p.expect is None:
                raise ValueError(f"abort_when[{i}] needs an 'expect': the condition that stops the run")
        return probes


_LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def _address(value: str, where: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{where}: expected HOST:PORT (e.g. 127.0.0.1:4318; port 0 = any free port), got {value!r}")
    return value


class TraceTtrSpec(StrictModel):
    """When the application counts as recovered, judged from its own spans (see docs/tracing.md)."""

    service: str | None = Field(default=None, description="Only spans of this service (default: every service).")
    kind: Literal["server", "client", "internal", "producer", "consumer"] | None = Field(
        default="server", description="Only spans of this kind (default: server spans, the requests served)."
    )
    max_error_rate: float = Field(default=0.01, ge=0, le=1, description="Spans with status ERROR / spans.")
    max_p95_ms: float | None = Field(default=None, gt=0, le=86_400_000, description="p95 span duration, in ms.")
    hold: Duration = Field(default=3.0, gt=0, description="Every second of this stretch must meet both.")


class ReceiveSpec(StrictModel):
    """Receive the application's own spans during the run (OTLP), for trace probes, the report and trace.json."""

    http: str | None = Field(
        default="127.0.0.1:4318", description="OTLP/HTTP (protobuf) listen address, HOST:PORT; null: none."
    )
    grpc: str | None = Field(default=None, description="OTLP/gRPC listen address, HOST:PORT (needs chaoskit[grpc]).")
    token_env: str | None = Field(
        default=None,
        description="An environment variable holding a bearer token the senders must present; "
        "required when listening on an address other than loopback.",
    )
    max_body: int = Field(default=4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="Bytes per request.")
    sample: int = Field(default=5000, ge=0, le=100_000, description="Raw spans kept for trace.json.")
    max_keys: int = Field(
        default=2000, ge=1, le=100_000, description="Distinct (service, span name, kind) kept; more count as (other)."
    )
    wait: Duration = Field(
        default=0.0,
        ge=0,
        le=300,
        description="Before the baseline, wait up to this long for the first span (services export in batches).",
    )
    ttr: TraceTtrSpec = Field(default_factory=TraceTtrSpec, description="The trace-derived time to recovery.")

    @model_validator(mode="after")
    def _listen(self) -> Self:
        if self.http is None and self.grpc is None:
            raise ValueError("receive: set http, grpc or both")
        for where, value in (("http", self.http), ("grpc", self.grpc)):
            if value is not None:
                _address(value, where)
                if not value.startswith(_LOOPBACK) and self.token_env is None:
                    raise ValueError(
                        f"{where}: {value} is not a loopback address: set token_env (a variable holding a token "
                        "that senders must present) to listen there"
                    )
        return self


class TracingSpec(StrictModel):
    """The run's OpenTelemetry trace (see docs/tracing.md)."""

    enabled: bool = Field(default=True, description="Record the run as a trace and send trace context to probes.")
    file: bool = Field(default=True, description="Write an OTLP JSON trace file next to the journal.")
    endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="OTLP endpoint (base URL); else OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT; else no network export.",
    )
    protocol: Literal["http/protobuf", "grpc"] | None = Field(
        default=None, description="Else OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL; else http/protobuf."
    )
    service_name: str | None = Field(default=None, description="Else OTEL_SERVICE_NAME; else chaoskit.")
    export_timeout: Duration = Field(
        default=5.0, gt=0, description="The most exporting the trace may add to the run (a dead collector)."
    )
    receive: ReceiveSpec | None = Field(
        default=None, description="Receive the application's spans over OTLP while the run goes (trace.* probes)."
    )


class Experiment(StrictModel):
    """A chaos experiment."""

    version: Literal[1] = 1
    title: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default=[])
    configuration: dict[str, JsonValue] = Field(
        default={},
        description="Named values: a literal, or {env: NAME, default: ...}. Use as ${name}.",
    )
    secrets: dict[str, JsonValue] = Field(
        default={},
        description="Like configuration, but never written to journals, traces, logs or reports.",
    )
    steady_state: SteadyState = Field(default_factory=lambda: SteadyState(strategy="skip"))
    method: list[Step] = Field(min_length=1)
    rollbacks: list[Step] = Field(
        default=[],
        description="Cleanup actions, run after the faults are reverted and recovery is judged (so a rollback "
        "that heals cannot hide a system that does not recover).",
    )
    recovery: Recovery = Field(default_factory=Recovery)
    safety: Safety = Field(default_factory=Safety)
    load: dict[str, Any] | None = Field(
        default=None, description="Load to drive during the run: {driver: locust, ...driver parameters}."
    )
    tracing: TracingSpec = Field(default_factory=TracingSpec)
    regression: Regression | None = Field(
        default=None, description="What `chaoskit compare` counts as a regression of this experiment."
    )
    sections: dict[str, dict[str, Any]] = Field(
        default={},
        exclude=True,
        description="Top-level blocks owned by plugins (e.g. toxiproxy:), filled in by the loader.",
    )

    @field_validator("configuration", "secrets")
    @classmethod
    def _refs(cls, values: dict[str, JsonValue]) -> dict[str, JsonValue]:
        for key, value in values.items():
            if isinstance(value, dict) and "env" in value:
                extra = set(value) - {"env", "default"}
                if extra:
                    raise ValueError(f"{key}: an env reference takes only 'env' and 'default' (not {sorted(extra)})")
                if not isinstance(value["env"], str) or not value["env"]:
                    raise ValueError(f"{key}: 'env' must name an environment variable")
        return values

    @model_validator(mode="after")
    def _trace_probes_receive(self) -> Self:
        """trace.* probes read the spans the run receives: they need ``tracing.receive``."""
        if self.tracing.receive is not None and self.tracing.enabled:
            return self
        names = [p.probe for p in [*self.steady_state.probes, *self.safety.abort_when]]
        names += [s.probe for s in self.method if s.probe]
        used = sorted({n for n in names if n.startswith("trace.")})
        if used:
            raise ValueError(
                f"{', '.join(used)} read the application's spans: add 'tracing: {{receive: {{http: 127.0.0.1:4318}}}}' "
                "(and keep tracing enabled) so the run receives them"
            )
        return self

    @field_validator("rollbacks")
    @classmethod
    def _actions_only(cls, steps: list[Step]) -> list[Step]:
        for i, step in enumerate(steps):
            if step.kind not in ("action", "pause"):
                raise ValueError(f"rollbacks[{i}] is a {step.kind}; rollbacks hold actions (and pauses) only")
            if step.on_error != "stop":
                raise ValueError(
                    f"rollbacks[{i}]: on_error applies to method steps (every rollback runs; a failed one is an error)"
                )
        return steps
