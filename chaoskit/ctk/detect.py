"""Tell a Chaos Toolkit experiment from a native one by its shape, never by its file name."""

from __future__ import annotations

from typing import Any

_CTK_ONLY_KEYS = ("steady-state-hypothesis", "contributions", "extensions", "controls", "runtime")


def is_ctk(doc: Any) -> bool:
    """True when ``doc`` (a parsed file) is shaped like a CTK experiment.

    Signs: a string ``version`` (CTK's ``1.0.0``; chaoskit's is the integer 1), a key only CTK has
    (``steady-state-hypothesis``, ...), or activities made of ``type`` + ``provider``/``ref``.
    """
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("version"), str):
        return True
    if any(key in doc for key in _CTK_ONLY_KEYS):
        return True
    for key in ("method", "rollbacks"):
        items = doc.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and ("provider" in item or ("ref" in item and len(item) == 1)):
                    return True
    return False
