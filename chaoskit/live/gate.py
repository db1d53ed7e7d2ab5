"""A game-day gate asked in the terminal and on the live page at once: the first answer wins, the other side is
told who answered. Without a terminal (CI with ``--serve``, a script) only the page can answer."""

from __future__ import annotations

import contextlib
import select
from collections.abc import Callable
from typing import TextIO

from chaoskit.live.state import LiveState
from chaoskit.run.notes import GateAnswer

YES = ("y", "yes")
NO = ("", "n", "no")


def _word(go: bool) -> str:
    return "continue" if go else "stop the day"


def _forget_typed(terminal: TextIO | None) -> None:
    """Drop what was typed in the terminal but not sent: it must not answer the next gate."""
    if terminal is not None:
        import termios

        with contextlib.suppress(OSError, termios.error, ValueError):
            termios.tcflush(terminal.fileno(), termios.TCIFLUSH)


def ask(
    question: str,
    state: LiveState,
    terminal: TextIO | None,
    say: Callable[[str], None],
    note_prompt: Callable[[], str],
) -> GateAnswer:
    """Wait for the gate's answer from the page, or from ``terminal`` (a line: y = continue, n or empty = stop
    the day), whichever comes first. ``note_prompt`` asks the terminal's answerer for a note."""
    gate_id = state.open_gate(question)
    where = "on the live page" + (" or here [y = continue / N = stop the day]" if terminal else "")
    say(f"gate: {question} Answer {where}.")
    while True:
        record = state.wait_gate(gate_id, 0.2)
        if record is not None:
            _forget_typed(terminal)
            say(f"gate answered by {record['by']}: {_word(record['go'])}")
            return GateAnswer(bool(record["go"]), "", str(record["by"]))
        if terminal is None or not select.select([terminal], [], [], 0)[0]:
            continue
        line = terminal.readline()
        if not line:  # end of input: only the page can answer now
            terminal = None
            continue
        word = line.strip().lower()
        if word not in YES + NO:
            say("answer y (continue) or n (stop the day)")
            continue
        won, record = state.answer_gate(gate_id, word in YES, "terminal")
        if not won:
            if record is not None:
                say(f"gate answered by {record['by']}: {_word(record['go'])}")
                return GateAnswer(bool(record["go"]), "", str(record["by"]))
            continue
        return GateAnswer(word in YES, note_prompt().strip(), "terminal")


__all__ = ["ask"]
