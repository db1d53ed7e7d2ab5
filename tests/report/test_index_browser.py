"""A game day's index.html and summary.md link every run's report; the links are followed in headless Chromium."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from tests.conftest import HttpService
from tests.demo.browser import chromium, dump_dom


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)
        self._in_title = tag == "title" and not self.title  # the page's title, not the SVG's

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def _parse(dom: str) -> _Links:
    parser = _Links()
    parser.feed(dom)
    return parser


def _experiment(folder: Path, name: str, service: HttpService, status: int) -> None:
    doc = {
        "title": f"game day {name}",
        "steady_state": {
            "probes": [{"name": "health", "probe": "http", "with": {"url": service.url}, "expect": {"status": status}}]
        },
        "method": [{"fault": "testkit.marker", "with": {"path": f"marker-{name}"}, "duration": "100ms"}],
        "recovery": {"within": "500ms", "interval": "100ms"},
    }
    (folder / f"{name}.yaml").write_text(json.dumps(doc))


def test_the_index_links_every_report(tmp_path: Path, http_service: HttpService, cli: Any) -> None:
    browser = chromium()
    if browser is None:
        pytest.fail("chromium is not installed: run scripts/setup-chromium.sh (scripts/test does)")
    folder = tmp_path / "gameday"
    folder.mkdir()
    _experiment(folder, "a-holds", http_service, 200)
    _experiment(folder, "b-baseline", http_service, 204)  # the steady state never holds: baseline-not-met
    out, summary = tmp_path / "runs", tmp_path / "ci" / "summary.md"
    summary.parent.mkdir()
    proc = cli("run", str(folder), "--out", str(out), "--summary-md", str(summary), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr  # the most severe: baseline-not-met (2) over passed (0)
    index = out / "index.html"
    assert f"game day index: {index}" in proc.stderr

    dom = dump_dom(browser, index, tmp_path / "profile")
    page = _parse(dom)
    assert "chaoskit game day" in page.title
    assert len(page.links) == 2
    assert re.search(r'id="exit-code">2<', dom) and "the most severe of its experiments' codes" in dom
    titles = []
    for href in page.links:
        assert not href.startswith("/") and "://" not in href  # relative: the folder can move as it is
        report = (out / unquote(href)).resolve()
        assert report.name == "report.html" and report.is_file()
        titles.append(_parse(dump_dom(browser, report, tmp_path / "profile")).title)  # the browser opens it
    assert titles == ["passed: game day a-holds (chaoskit)", "baseline-not-met: game day b-baseline (chaoskit)"]

    text = summary.read_text()
    targets = re.findall(r"\]\(<([^>]+)>\)", text)
    assert len(targets) == 3  # both reports and the index
    for target in targets:
        assert (summary.parent / target).resolve().is_file(), target
    assert urlparse(targets[-1]).path.endswith("index.html")
