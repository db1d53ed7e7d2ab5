"""Console markup (rich's ``[bold red]...[/]`` tags) without importing rich.

chaoskit writes its terminal lines in rich's markup. On a terminal they go through rich (colours, countdowns);
when the stream is not a terminal (CI logs, a pipe, a captured subprocess) rich would only take the tags out,
and importing it costs more than the rest of a short run's output. :func:`plain` does that part here, by rich's
rules: a tag is ``[`` then a letter, ``#``, ``/`` or ``@``, then anything but ``[``, then ``]``; a tag preceded
by an odd number of backslashes is literal text (one backslash of each pair is kept), and ``\\[`` elsewhere
is a ``[``. :func:`escape` makes text
show as it is (the same escaping as ``rich.markup.escape``), so both paths print the same characters.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?\])")


def escape(text: str) -> str:
    """``text`` with every tag-like ``[...]`` escaped, so that markup shows it literally."""
    text = _TAG.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), text)
    if text.endswith("\\") and not text.endswith("\\\\"):
        text += "\\"  # a lone trailing backslash would escape whatever markup follows
    return text


def plain(markup: str) -> str:
    """The text rich prints for ``markup`` without colours: tags removed, escaped ones kept literally."""
    out: list[str] = []
    pos = 0
    for match in _TAG.finditer(markup):
        out.append(markup[pos : match.start()].replace("\\[", "["))
        backslashes, odd = divmod(len(match.group(1)), 2)
        out.append("\\" * backslashes)
        if odd:
            out.append(match.group(2))
        pos = match.end()
    out.append(markup[pos:].replace("\\[", "["))
    return "".join(out)


__all__ = ["escape", "plain"]
