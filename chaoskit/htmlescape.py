"""HTML escaping without the standard library's ``html`` module.

``html.escape`` is five replaces, but importing ``html`` builds the pattern and the entity table that
``html.unescape`` needs: about 8 M instructions, which every ``chaoskit run`` paid (for the redaction of
HTML-escaped secrets and for the report). :func:`escape` returns exactly what ``html.escape`` returns.
"""

from __future__ import annotations


def escape(text: str, quote: bool = True) -> str:
    """``&``, ``<``, ``>`` (and with ``quote``, ``"`` and ``'``) as HTML character references."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        text = text.replace('"', "&quot;").replace("'", "&#x27;")
    return text
