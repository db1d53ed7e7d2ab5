"""Python providers used by the CTK parity experiments (imported by real CTK and by chaoskit alike)."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any


def give(value: Any = True) -> Any:
    return value


def boom(message: str = "boom") -> None:
    raise RuntimeError(message)


def type_of(value: Any = None) -> str:
    return type(value).__name__


def has_token(secrets: dict[str, Any] | None = None) -> bool:
    """True when the secret scope carries the expected token (the token itself is never returned)."""
    return bool(secrets) and secrets.get("token") == "s3cret-t0ken"


def config_value(key: str, configuration: dict[str, Any] | None = None) -> Any:
    return (configuration or {}).get(key)


def is_healthy(value: Any = None) -> bool:
    """A tolerance probe: receives the probed output as ``value``."""
    return isinstance(value, dict) and value.get("status") == 200


def post(url: str) -> int:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(json.loads(response.read()).get("healthy", 0))


def nap(seconds: float = 0.5) -> float:
    time.sleep(seconds)
    return seconds


def require_healthy(url: str) -> bool:
    """Raises (the probe fails) unless the service answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except Exception as exc:
        raise RuntimeError(f"{url} is not healthy: {exc}") from None
