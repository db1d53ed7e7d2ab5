"""Talking to the API server: auth (kubeconfig or in-cluster), one ApiClient per cluster, clear errors.

A fault's revert info holds a :class:`Conn` as a dict (kubeconfig path and context, or ``in_cluster``, and
the request timeout) -- never a token -- so ``chaoskit rollback`` reaches the same cluster in a new process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from chaoskit.errors import PluginError
from chaoskit.plugin import Context
from chaoskit_kubernetes.section import KubernetesSection

T = TypeVar("T")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SA_DIR_ENV = "CHAOSKIT_K8S_SERVICE_ACCOUNT_DIR"  # tests and sidecars: where token and ca.crt are


@dataclass(frozen=True)
class Conn:
    kubeconfig: str | None
    context: str | None
    in_cluster: bool
    timeout: float

    @classmethod
    def of(cls, sec: KubernetesSection, ctx: Context) -> Conn:
        if sec.in_cluster:
            return cls(None, None, True, sec.request_timeout)
        if sec.kubeconfig:
            path = Path(sec.kubeconfig).expanduser()
            if not path.is_absolute():
                path = ctx.work_dir / path
        else:
            env = os.environ.get("KUBECONFIG", "")
            first = next((p for p in env.split(os.pathsep) if p), None)
            path = Path(first).expanduser() if first else Path.home() / ".kube" / "config"
        return cls(str(path.resolve()), sec.context, False, sec.request_timeout)

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Conn:
        c = info["cluster"]
        return cls(c.get("kubeconfig"), c.get("context"), bool(c.get("in_cluster")), float(c.get("timeout", 10.0)))

    def to_info(self) -> dict[str, Any]:
        return asdict(self)

    def where(self) -> str:
        if self.in_cluster:
            return "in-cluster service account"
        return f"kubeconfig {self.kubeconfig}" + (f" context {self.context}" if self.context else "")

    def api(self) -> Any:
        """The cached ``kubernetes.client.ApiClient`` for this cluster (the client is imported here)."""
        key = (self.kubeconfig, self.context, self.in_cluster)
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _new_client(self)
            return client

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api())

    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api())

    def networking(self) -> Any:
        from kubernetes import client

        return client.NetworkingV1Api(self.api())

    def policy(self) -> Any:
        from kubernetes import client

        return client.PolicyV1Api(self.api())

    def call(self, what: str, fn: Callable[..., T], *args: Any, timeout: Any = None, **kwargs: Any) -> T:
        """Call an API method with the request timeout (or ``timeout``: seconds, or (connect, read) for a
        watch); turn every failure into a PluginError naming ``what``."""
        try:
            return fn(*args, _request_timeout=self.timeout if timeout is None else timeout, **kwargs)
        except Exception as exc:
            raise as_plugin_error(exc, what, self) from exc


POOL_SIZE = 128  # connections kept per API server: the cap of every ``concurrency`` parameter
_lock = threading.Lock()
_clients: dict[tuple[str | None, str | None, bool], Any] = {}


def _new_client(conn: Conn) -> Any:
    from kubernetes import client, config

    cfg = client.Configuration()
    try:
        if conn.in_cluster:
            folder = Path(os.environ.get(SA_DIR_ENV) or SA_DIR)
            loader = config.incluster_config.InClusterConfigLoader(  # type: ignore[no-untyped-call]
                token_filename=str(folder / "token"), cert_filename=str(folder / "ca.crt")
            )
            loader.load_and_set(cfg)  # type: ignore[no-untyped-call]
        else:
            assert conn.kubeconfig is not None
            if not Path(conn.kubeconfig).is_file():
                raise PluginError(f"kubernetes: no kubeconfig file at {conn.kubeconfig} (set kubernetes.kubeconfig)")
            from chaoskit_kubernetes import kubeconfig

            config.load_kube_config_from_dict(  # type: ignore[no-untyped-call]
                kubeconfig.load(conn.kubeconfig),  # *-data in memory: no temp file a killed run would leave
                context=conn.context,
                client_configuration=cfg,
                persist_config=False,
            )
    except PluginError:
        raise
    except Exception as exc:  # ConfigException and friends: a bad file, an unknown context, no service account
        raise PluginError(f"kubernetes: cannot load the credentials ({conn.where()}): {exc}") from exc
    cfg.retries = 1  # a dead API server fails fast, within the request timeout
    cfg.connection_pool_maxsize = POOL_SIZE  # bulk deletes/evictions run up to this many calls at once
    return client.ApiClient(cfg)


class KubeError(PluginError):
    """An API call failed; ``status`` is the HTTP status (None: the API server was not reached).
    ``retry_after``: the server's Retry-After (seconds) on a 429; ``budget``: True when a 429 is an eviction
    refused by a PodDisruptionBudget (not API priority and fairness)."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None, budget: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.budget = budget


def as_plugin_error(exc: Exception, what: str, conn: Conn) -> PluginError:
    if isinstance(exc, PluginError):
        return exc
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        data = _body(exc)
        detail = str(data.get("message", "")) if data else (str(exc.body)[:300] if exc.body else "")
        causes = (data.get("details") or {}).get("causes") or [] if data else []
        budget = exc.status == 429 and (
            any(isinstance(c, dict) and c.get("reason") == "DisruptionBudget" for c in causes)
            or "disruption budget" in detail
        )
        return KubeError(
            f"{what}: the API server answered {exc.status} {exc.reason}: {detail}",
            exc.status,
            _retry_after(exc, data),
            budget,
        )
    return KubeError(f"{what}: cannot reach the API server ({conn.where()}): {type(exc).__name__}: {exc}")


def _body(exc: Any) -> dict[str, Any]:
    """The API server's Status object from an error response ({} when the body is not one)."""
    import json

    body = getattr(exc, "body", None)
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(exc: Any, data: dict[str, Any]) -> float | None:
    """Seconds from the Retry-After header (or the Status' details.retryAfterSeconds)."""
    headers = getattr(exc, "headers", None) or {}
    for raw in (headers.get("Retry-After"), (data.get("details") or {}).get("retryAfterSeconds")):
        if raw is None:
            continue
        try:
            return max(0.0, float(raw))
        except (TypeError, ValueError):
            continue
    return None


def status_of(exc: BaseException) -> int | None:
    return exc.status if isinstance(exc, KubeError) else None
