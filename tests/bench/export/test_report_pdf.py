"""report.pdf of an EN 14825 run, printed by headless Chromium and read back with poppler
(pdfinfo, pdftotext, pdftoppm): every page numbered "Page x of y" with the report number, no
table wider than the page, the charts drawn, and an approval reprinted into it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main
from bench.export.charts import BAND_FILL
from bench.export.pdf import PDF_NAME
from bench.export.report_html import REPORT_NAME
from bench.export.sums import read_sums

A4_PT = (595.0, 842.0)
SIDE_MARGIN_PT = 14 / 25.4 * 72  # the print CSS's left and right page margin, 14 mm


def poppler(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args[0]}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def printed(en14825_run, tmp_path_factory) -> dict:
    """A copy of the run printed as a draft, then approved (which prints it again)."""
    run_dir = tmp_path_factory.mktemp("pdf") / en14825_run.dir.name
    shutil.copytree(en14825_run.dir, run_dir)
    assert main(["report", str(run_dir), "--pdf"]) == 0
    draft = poppler("pdftotext", "-layout", str(run_dir / PDF_NAME), "-")
    html = (run_dir / REPORT_NAME).read_text(encoding="utf-8")
    number = re.search(r"Report No\. (HPB-\d{8}-[0-9a-f]+)", html).group(1)
    assert main(["approve", str(run_dir), "--name", "Dr. A. Prüfer", "--role", "head of lab"]) == 0
    return {"dir": run_dir, "pdf": run_dir / PDF_NAME, "draft": draft, "number": number}


def page_count(pdf: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", str(pdf)), re.M).group(1))


def page_text(pdf: Path, page: int) -> str:
    return poppler("pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-")


def test_every_page_has_its_number_of_the_total_and_the_report_number(printed):
    pdf = printed["pdf"]
    pages = page_count(pdf)
    # first page, method, item, results, uncertainty, charts, zooms, SCOP, unit's readings
    assert pages >= 9
    for page in range(1, pages + 1):
        text = page_text(pdf, page)
        assert f"Page {page} of {pages}" in text, f"page {page}: {text[-300:]}"
        assert f"Test report {printed['number']}" in text, f"page {page}"
    last = page_text(pdf, pages)
    assert f"End of report {printed['number']}" in last
    assert sum("End of report" in page_text(pdf, p) for p in range(1, pages + 1)) == 1


def test_the_pdf_is_a4_and_opens_in_pdftoppm(printed, tmp_path):
    info = poppler("pdfinfo", str(printed["pdf"]))
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2
    first = ("-f", "1", "-l", "1")
    poppler("pdftoppm", "-png", "-r", "30", *first, str(printed["pdf"]), str(tmp_path / "p"))
    png = next(tmp_path.glob("p*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_word_is_printed_outside_the_side_margins(printed, tmp_path):
    """A table wider than the page pushes its right-hand words past the margin, or off the
    paper; every word on every page lies between the margins (a point of slack)."""
    bbox = tmp_path / "bbox.html"
    poppler("pdftotext", "-bbox", str(printed["pdf"]), str(bbox))
    text = bbox.read_text(encoding="utf-8")
    pages = re.findall(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', text, re.S)
    assert len(pages) == page_count(printed["pdf"])
    words = 0
    for number, (width, body) in enumerate(pages, 1):
        for x0, x1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
            body,
        ):
            words += 1
            assert float(x0) >= SIDE_MARGIN_PT - 1, (number, word, x0)
            assert float(x1) <= float(width) - SIDE_MARGIN_PT + 1, (number, word, x1)
    assert words > 1000


def test_the_time_series_page_shows_the_collection_windows(printed, tmp_path):
    pdf = printed["pdf"]
    page = next(p for p in range(1, page_count(pdf) + 1) if "Time series" in page_text(pdf, p))
    out = tmp_path / "ts"
    poppler("pdftoppm", "-r", "40", "-f", str(page), "-l", str(page), str(pdf), str(out))
    ppm = next(tmp_path.glob("ts*.ppm")).read_bytes()
    # P6 header: magic, width, height, maxval, then RGB bytes
    magic, width, height, maxval, pixels = ppm.split(maxsplit=4)
    assert magic == b"P6" and maxval == b"255"
    band = bytes(int(BAND_FILL[i : i + 2], 16) for i in (1, 3, 5))
    shaded = sum(
        1
        for i in range(0, len(pixels) - 2, 3)
        if sum(abs(pixels[i + k] - band[k]) for k in range(3)) <= 12
    )
    assert shaded > 0.01 * int(width) * int(height), "no collection windows shaded"


def test_the_draft_says_so_and_approval_prints_the_authorisation(printed):
    draft = printed["draft"]
    assert "DRAFT: not yet approved" in draft and "not issued" in draft
    text = poppler("pdftotext", "-layout", str(printed["pdf"]), "-")
    assert "DRAFT" not in text
    assert "Dr. A. Prüfer" in text and "head of lab" in text
    listed, problems = read_sums(printed["dir"])
    assert not problems and {PDF_NAME, "approval.json"} <= set(listed)
    assert main(["verify", str(printed["dir"])]) == 0


def test_another_process_makes_the_same_report_bytes(printed):
    """Chart ids, dates and fonts fixed (charts.STYLE): a fresh interpreter, as on another
    day or machine, writes report.html byte for byte again."""
    before = (printed["dir"] / REPORT_NAME).read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", "report", str(printed["dir"])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (printed["dir"] / REPORT_NAME).read_bytes() == before
    assert main(["verify", str(printed["dir"])]) == 0
