"""`hpbench report RUNDIR --pdf`: report.html printed to report.pdf by headless Chromium.

The page layout is the report's own print CSS (A4, margins, a page break before each
section); the report number and "Page x of y" on every page are CSS page-margin boxes
(`@page { @top-right { content: … } @bottom-right { content: counter(page) … counter(pages) } }`),
which Chromium prints since version 131 — so no DevTools session and no Chromium header
template are needed, and the same file prints the same from any browser that supports them
(docs/decisions/0131). An older Chromium is refused with its version named, rather than
printing pages without their numbers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.export import atomic

PDF_NAME = "report.pdf"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
MIN_MAJOR = 131  # first Chromium that prints @page margin boxes (page numbers, report number)
TIMEOUT_S = 180.0


class PrintError(Exception):
    """The PDF could not be printed; str() says why and what to install."""


def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise PrintError(
        "no Chromium on PATH: install it (Debian: apt-get install chromium) to print PDFs"
    )


def browser_major(path: str) -> int:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PrintError(f"{path} --version failed: {exc}") from None
    match = re.search(r"\b(\d+)\.\d+\.\d+", done.stdout)
    if match is None:
        raise PrintError(f"{path} --version: no version in {done.stdout.strip()!r}")
    return int(match.group(1))


def print_pdf(html: Path, pdf: Path) -> Path:
    """Print `html` to `pdf` (printed beside it, then written atomically: never half a PDF)."""
    path = browser()
    major = browser_major(path)
    if major < MIN_MAJOR:
        raise PrintError(
            f"{path} is Chromium {major}: printing page numbers needs {MIN_MAJOR} or newer"
        )
    partial = pdf.with_name(f".{pdf.name}.partial")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="hpbench-chromium-") as profile:
        cmd = [
            path,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={partial}",
            "--no-pdf-header-footer",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            raise PrintError(f"{path} did not print {html} within {TIMEOUT_S:g} s") from None
    if not partial.is_file() or partial.stat().st_size == 0:
        tail = "; ".join(done.stderr.strip().splitlines()[-3:])
        raise PrintError(f"{path} printed no PDF (exit {done.returncode}): {tail}")
    atomic.write_bytes(pdf, partial.read_bytes())  # fsynced, like every result file
    partial.unlink()
    return pdf
