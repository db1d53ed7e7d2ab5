"""``chaosk8s`` (chaostoolkit-kubernetes) calls on chaoskit's kubernetes plugin (filled in below)."""

from __future__ import annotations

from chaoskit.ctk.extensions import Handler

HANDLERS: dict[str, Handler] = {}
