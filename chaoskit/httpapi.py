"""One request to a server's JSON HTTP API, with a timeout (standard library only).

The transport under the plugins' API clients (Toxiproxy, the HTTP fault proxy): each client turns
:class:`Refused` (the server answered with an error status) and :class:`Unreachable` (no answer) into its own
error classes, whose messages name the server and the call.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class Refused(Exception):
    """The server answered with an error status; ``message`` is its own (its JSON ``error``, else its text)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class Unreachable(Exception):
    """No answer: refused, reset, not resolvable, or none within the timeout (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def call(url: str, method: str, body: dict[str, Any] | None, timeout: float) -> bytes:
    """Send ``body`` (as JSON, when given) to ``url``; the raw body of the answer."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw: bytes = response.read()
            return raw
    except urllib.error.HTTPError as exc:
        raise Refused(exc.code, server_message(exc.read())) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, socket.timeout | TimeoutError):
            reason = f"no answer within {timeout:g}s"
        raise Unreachable(str(reason)) from None


def server_message(raw: bytes) -> str:
    """What an error answer says: its JSON ``error`` field, else its text (at most 500 characters)."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    return str(data["error"]) if isinstance(data, dict) and "error" in data else text[:500]


def segment(name: str) -> str:
    """``name`` quoted as one path segment (a ``/`` in it cannot reach another resource)."""
    return urllib.parse.quote(name, safe="")
