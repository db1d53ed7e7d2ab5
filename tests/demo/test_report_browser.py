"""The HTML report in a real headless browser (Debian's chromium): it renders, the chart and the fault windows
are in the page and visible on screen. The game day's own reports are checked; one more test renders a
report of a journal with known numbers, so the browser check runs even where the demo's plugins are missing."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chaoskit.report import write_html_report
from tests.report.journals import loaded_journal

from .browser import chromium, dump_dom, pixels, read_png, screenshot
from .conftest import GameDay


@pytest.fixture(scope="session")
def browser() -> str:
    found = chromium()
    if found is None:
        pytest.fail("chromium is not installed: run scripts/setup-chromium.sh (scripts/test does)")
    return found


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, dict[str, str | None]] = {}
        self.classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids[str(a["id"])] = {"tag": tag, **a}
        self.classes.extend((a.get("class") or "").split())


def _dom(browser: str, page: Path, tmp: Path) -> _Ids:
    parsed = _Ids()
    parsed.feed(dump_dom(browser, page, tmp / "profile"))
    return parsed


def _tinted(px: tuple[int, int, int]) -> bool:
    """The fault window's shade: #dc2626 at 12 % over white (about 250, 227, 227)."""
    r, g, b = px
    return r >= 240 and 205 <= g <= 240 and abs(g - b) <= 6 and r - g >= 12


def _check_screenshot(browser: str, page: Path, tmp: Path) -> Path:
    shot = screenshot(browser, page, tmp / "profile", tmp / "report.png")
    width, height, rows = read_png(shot)
    assert (width, height) == (1000, 1500)
    assert shot.stat().st_size > 40_000, "the screenshot is nearly empty"
    px = pixels(rows)
    colours = set(px)
    assert len(colours) > 200, f"only {len(colours)} colours: a blank page?"
    assert sum(1 for p in px if _tinted(p)) > 20_000, "no shaded fault window visible"
    blue = sum(1 for r, g, b in px if b > 200 and r < 90 and 80 < g < 130)  # the rps line, #2563eb
    assert blue > 300, "the rps line is not visible"
    return shot


def _check_dom(dom: _Ids, faults: int) -> None:
    for element in (
        "title",
        "outcome",
        "reason",
        "score",
        "ttr",
        "score-explained",
        "timeline",
        "panel-rps",
        "panel-error-rate",
        "panel-p95",
        "probe-strip",
        "windows",
        "probes",
        "faults",
    ):
        assert element in dom.ids, f"#{element} missing from the rendered page"
    assert dom.ids["timeline"]["tag"] == "svg"
    windows = [i for i in dom.ids if re.fullmatch(r"fault-window-\d+", i)]
    assert len(windows) == faults
    assert all(float(dom.ids[w]["width"] or 0) > 10 for w in windows)
    load_lines = dom.classes.count("series") - dom.classes.count("probe-latency")
    assert load_lines == 3  # rps, error rate and p95 lines all drawn
    if dom.classes.count("probe-latency"):  # plus one line per probe that measured latency, in its own panel
        assert "panel-probe-latency" in dom.ids


def test_report_of_known_numbers_in_the_browser(browser: str, tmp_path: Path) -> None:
    page = write_html_report(loaded_journal(), tmp_path / "report.html")
    _check_dom(_dom(browser, page, tmp_path), faults=1)
    _check_screenshot(browser, page, tmp_path)


def test_game_day_reports_in_the_browser(browser: str, gameday: GameDay, tmp_path: Path) -> None:
    journals = gameday.journals()
    assert journals, gameday.result.stderr[-4000:]
    for journal in journals.values():
        page = Path(journal["artifacts"]["report"])
        dom = _dom(browser, page, tmp_path)
        _check_dom(dom, faults=len(journal["faults"]))
        assert journal["outcome"] in page.read_text()
    finding = Path(journals["04-payments-latency"]["artifacts"]["report"])
    shot = _check_screenshot(browser, finding, tmp_path)
    print(f"screenshot of the finding's report: {shot}")
