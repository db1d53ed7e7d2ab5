"""The one error tree of chaoskit.

Every error a user can cause is a :class:`ChaosKitError` subclass with a clear message and
the exit code the CLI returns for it. Nothing is swallowed: plugin errors are wrapped,
never hidden.
"""

from __future__ import annotations

from chaoskit.redaction import scrub_text


class ChaosKitError(Exception):
    """Base of every error chaoskit raises on purpose."""

    exit_code = 4


class Problem:
    """One validation problem: where (a path such as ``method[1].with.latency_ms``) and what. Read-only, compared
    and hashed by value. The message is scrubbed of secrets when the problem is made (it may quote what the user
    wrote). A plain class rather than a dataclass: this module is imported by the guardian process too, which so
    stays free of ``dataclasses`` and the ``inspect`` it imports."""

    __slots__ = ("line", "message", "path", "source")
    path: str
    message: str
    line: int | None
    source: str | None

    def __init__(self, path: str, message: str, line: int | None = None, source: str | None = None) -> None:
        for name, value in (("path", path), ("message", scrub_text(message)), ("line", line), ("source", source)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to {name!r} of a Problem (it is read-only)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r} of a Problem (it is read-only)")

    def _fields(self) -> tuple[str, str, int | None, str | None]:
        return (self.path, self.message, self.line, self.source)

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if isinstance(other, Problem) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"Problem(path={self.path!r}, message={self.message!r}, line={self.line!r}, source={self.source!r})"

    def __reduce__(self) -> tuple[type[Problem], tuple[str, str, int | None, str | None]]:
        return (Problem, self._fields())

    def __str__(self) -> str:
        where = self.path or "(document)"
        if self.source and self.line is not None:
            where = f"{self.source}:{self.line}: {where}"
        elif self.line is not None:
            where = f"line {self.line}: {where}"
        return scrub_text(f"{where}: {self.message}")  # a message may quote what the user wrote


class ValidationFailed(ChaosKitError):
    """The experiment is invalid. Carries every problem found, all at once."""

    exit_code = 5
    verdict = "is invalid"

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        head = f"{source or 'experiment'} {self.verdict} ({len(problems)} problem{'s' * (len(problems) != 1)})"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))


class PreflightFailed(ValidationFailed):
    """A valid experiment that would fail when run: a plugin's preflight found what is missing (every problem,
    each with the step's path). ``validate --preflight`` and ``run --dry-run`` exit with 6."""

    exit_code = 6
    verdict = "failed preflight"


class PluginError(ChaosKitError):
    """A plugin failed: raised by plugins for errors in the system they act on or observe."""

    exit_code = 4


class PluginNotFound(ChaosKitError):
    exit_code = 5


class PluginConflict(ChaosKitError):
    """Two installed distributions register the same plugin name."""

    exit_code = 4


class ActivityTimeout(ChaosKitError):
    exit_code = 4


class StepFailed(ChaosKitError):
    """A method step failed (and its ``on_error`` is ``stop``); the message names the step."""

    exit_code = 4


class RevertFailed(ChaosKitError):
    exit_code = 4


class LedgerError(ChaosKitError):
    exit_code = 4


class HookAbandoned(ChaosKitError):
    """A hook implementation did not return in time (the run's wall, or its grace after it); its thread was left
    running (see :mod:`chaoskit.run.events`)."""

    exit_code = 4


class GuardianLost(ChaosKitError):
    """The guardian process ended while the run went on (recorded; the run goes on unguarded)."""

    exit_code = 4


# -- control flow of a run (not errors of the user's: each ends the run with its own outcome) ----------------------
class AbortRun(Exception):
    """A ``safety.abort_when`` condition triggered (its expect matched), or chaoskit was halted: ``aborted``."""


class Interrupted(BaseException):
    """Raised in the main thread on SIGTERM (Ctrl-C arrives as KeyboardInterrupt)."""

    def __init__(self, signame: str) -> None:
        self.signame = signame
        super().__init__(signame)


class SafetyStop(BaseException):
    """Raised in the main thread when ``safety.max_duration`` is reached."""
