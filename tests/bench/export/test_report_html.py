"""report.html: self-contained, well formed, and showing what the result holds."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from bench.export.charts import decimate
from bench.export.report_html import report_html
from bench.export.result import build_result
from bench.export.rundata import load_run

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def en14825(en14825_run):
    data = load_run(en14825_run.dir)
    doc = build_result(data)
    return doc, report_html(data, doc)


@pytest.fixture(scope="module")
def en14511(en14511_run):
    data = load_run(en14511_run.dir)
    doc = build_result(data)
    return doc, report_html(data, doc)


class Tags(HTMLParser):
    """Every start tag with its attributes, and whether the nesting closes."""

    VOID = frozenset({"meta", "br", "link", "img", "input", "hr", "path", "rect", "line", "circle"})

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    assert tags.stack == [], f"unclosed: {tags.stack}"
    return tags


def test_the_page_is_self_contained(en14825):
    _, html = en14825
    tags = parse(html)
    names = {t for t, _ in tags.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed"}
    for _, attrs in tags.tags:
        for key in ("src", "href"):
            assert key not in attrs, attrs
    assert "@import" not in html
    assert not re.search(r"url\((?!#)", html), "only references inside the page (clip paths)"
    # namespace names only (never fetched)
    assert not re.search(r"https?://(?!www\.w3\.org/(2000/svg|1999/xlink)\b)", html)
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert "@media print" in html and "@page" in html


def test_every_chart_is_well_formed_svg(en14825):
    doc, html = en14825
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    titles = []
    for text in svgs:
        root = ET.fromstring(text)  # raises on malformed XML
        assert root.tag == f"{SVG_NS}svg" and root.get("viewBox")
        assert root.get("width") is None, "the page sets the width, the viewBox the aspect"
        titles.append(root.get("aria-label"))
    windows = [p["id"] for p in doc["points"] if p["window"]]
    assert titles == [
        "Air and water temperatures",
        "Capacity and power",
        "COP per point",
        *(f"Point {w}: collection window" for w in windows),
        "EN 14825 bins",
    ]
    # each collection window is labelled with its point in the time charts
    for text in svgs[:2]:
        labels = [t.text.strip() for t in ET.fromstring(text).iter(f"{SVG_NS}text") if t.text]
        assert [x for x in labels if x in windows] == windows


def test_time_axes_are_clock_times_on_round_minutes(en14825):
    _, html = en14825
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    for text in svgs[:2] + svgs[3:4]:  # the two time charts and the first zoom
        labels = [t.text.strip() for t in ET.fromstring(text).iter(f"{SVG_NS}text") if t.text]
        clock = [x for x in labels if re.fullmatch(r"\d\d:\d\d", x)]
        assert len(clock) >= 4, labels
        minutes = [int(x[:2]) * 60 + int(x[3:]) for x in clock]
        steps = {(b - a) % 1440 for a, b in itertools.pairwise(minutes)}  # past midnight too
        assert len(steps) == 1 and steps.pop() in (1, 2, 5, 10, 15, 30, 60), clock
        assert all(m % min(30, (minutes[1] - minutes[0]) % 1440) == 0 for m in minutes), clock


def test_the_page_shows_unit_instruments_points_and_scop(en14825):
    doc, html = en14825
    assert doc["unit"]["serial"] in html
    for instrument in doc["instruments"]:
        assert instrument["serial"] in html
        if instrument["calibration_due"]:
            assert instrument["calibration_due"] in html
    for p in doc["points"]:
        assert f"<td>{p['id']}</td>" in html
        if p["results"] and "capacity_w" in p["results"]:
            u = p["uncertainty"]["capacity_w"]["U"]
            shown = f"{p['results']['capacity_w']:,.0f} ± {u:,.0f}".replace(",", " ")
            assert shown in html
    assert f"<th>SCOP</th><td>{doc['scop']['scop']:.2f}" in html
    assert html.count("<tr>") >= 26 + len(doc["points"])  # the bin table has all 26 bins


def test_an_en14511_report_has_no_scop_and_shows_the_failed_point(en14511):
    doc, html = en14511
    parse(html)
    assert "EN 14825 bins" not in html
    failed = next(p for p in doc["points"] if p["status"] == "failed")
    assert '<span class="failed">failed</span>' in html
    assert failed["reason"].split(":")[0] in html


def test_decimation_keeps_extremes_and_gaps():
    xs = [i / 10 for i in range(10_000)]
    ys = [float(i % 100) for i in range(10_000)]
    ys[5000] = None  # type: ignore[call-overload]
    ys[7000] = 1e6
    dx, dy = decimate(xs, ys, 100)
    assert len(dx) <= 4 * 100
    assert max(y for y in dy if y is not None) == 1e6
    assert min(y for y in dy if y is not None) == 0.0
    assert None in dy
    assert dx == sorted(dx)
