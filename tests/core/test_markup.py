"""Lines of markup printed without rich when the stream is not a terminal (chaoskit/markup.py): the same
characters rich prints there, and no rich imported for a plain `chaoskit run`."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape as rich_escape

from chaoskit.markup import escape, plain

SAMPLES = [
    "plain",
    "[bold]x[/]",
    "a \\[b] c",
    "\\\\[red]x[/]",
    "[x",
    "path[abc]def",
    "C:\\dir\\",
    "[bold red]✗ fault[/] [dim](x)[/]",
    "status 200 in [200]",
    "tail\\",
    "[#ff0000]c[/]",
    "[link=http://x]y[/link]",
]


def _rich(text: str) -> str | None:
    buf = io.StringIO()
    try:
        Console(file=buf, soft_wrap=True, color_system=None, emoji=False).print(text, highlight=False)
    except MarkupError:  # markup rich refuses (a closing tag with nothing open): chaoskit never prints it
        return None
    return buf.getvalue()[:-1]


def test_plain_prints_what_rich_prints_and_escape_escapes_alike() -> None:
    rnd = random.Random(22)
    texts = SAMPLES + ["".join(rnd.choice("ab[]/\\#@ 1x=") for _ in range(rnd.randint(0, 14))) for _ in range(4000)]
    compared = 0
    for text in texts:
        assert escape(text) == rich_escape(text), text
        for markup in (text, escape(text), f"[red]{escape(text)}[/] and [bold]more[/]"):
            expected = _rich(markup)
            if expected is not None:
                assert plain(markup) == expected, markup
                compared += 1
        if "\\" not in text:
            assert plain(escape(text)) == text  # escaped text shows as it is
    assert compared > 10_000


def test_a_run_whose_output_is_not_a_terminal_imports_no_rich(tmp_path: Path, http_service: Any) -> None:
    doc = {
        "title": "plain [output]",
        "steady_state": {
            "probes": [{"name": "api", "probe": "http", "with": {"url": http_service.url}, "expect": {"status": 200}}]
        },
        "method": [{"pause": "0s"}],
    }
    (tmp_path / "exp.json").write_text(json.dumps(doc))
    code = (
        "import sys\nfrom chaoskit.entry import main\n"
        "sys.argv = ['chaoskit', 'run', 'exp.json', '--out', 'runs']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] == 'rich'), file=open('seen.txt', 'w'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (tmp_path / "seen.txt").read_text().strip() == "0 []", done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("▶ plain [output] (run ") and "── baseline" in lines
    assert any(line.startswith("  ✓ probe api (") for line in lines)
    assert any(line.startswith("PASSED (exit 0)") for line in lines)
