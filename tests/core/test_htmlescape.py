"""``chaoskit.htmlescape.escape`` returns what ``html.escape`` returns (the report and redaction rely on it)."""

from __future__ import annotations

import html

import pytest

from chaoskit.htmlescape import escape

SAMPLES = ["", "plain", "a & b < c > d", "\"quoted\" and 'single'", "&amp; already", "<script>x('y')</script>",
           "unicode ü → ✓ & more", "&&<<>>\"\"''"]  # fmt: skip


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("quote", [True, False])
def test_same_as_the_standard_library(text: str, quote: bool) -> None:
    assert escape(text, quote) == html.escape(text, quote)


def test_a_secret_written_html_escaped_in_a_report_is_hidden() -> None:
    from chaoskit import redaction

    secret = "p<ss>&'word\""
    redaction.register({"token": secret})
    try:
        assert redaction.scrub_text(f"<td>{html.escape(secret)}</td>") == "<td>***</td>"
    finally:
        redaction.forget()
