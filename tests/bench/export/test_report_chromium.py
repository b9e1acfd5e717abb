"""report.html rendered by a real browser: headless Chromium (Debian `chromium`) takes a
screenshot, and the PNG is checked to be a real page: right size, mostly not blank, with the
report's own colours (table headers, statement boxes) on it.

The PNG is decoded here with zlib and struct alone (no imaging library in the project).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from bench.export.report_html import report_html
from bench.export.result import build_result
from bench.export.rundata import load_run

WIDTH, HEIGHT = 1200, 1600
BROWSERS = ("chromium", "chromium-browser")


def chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "headless Chromium is needed for this test and was not found on PATH: "
        "install it with `apt-get install -y chromium` (CI does, in .ci/run)"
    )


def screenshot(html: Path, png: Path, profile: Path) -> None:
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
        html.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert png.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr}"


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """Width, height, the unfiltered rows and bytes per pixel of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in chunk {kind!r}"
        pos += 12 + n
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    assert header is not None, "no IHDR"
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    rows: list[bytes] = []
    prev, zero = bytes(stride), bytes(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        if kind == 0 or (kind == 1 and line == zero):
            cur = bytes(line)
        elif kind == 2 and line == zero:
            cur = prev  # "same as the row above": most of a white page
        elif kind == 2:
            cur = bytes((a + b) & 255 for a, b in zip(line, prev, strict=True))
        else:
            out = bytearray(line)
            for i in range(stride):
                a = out[i - bpp] if i >= bpp else 0
                b = prev[i]
                if kind == 1:
                    p = a
                elif kind == 3:
                    p = (a + b) >> 1
                else:  # 4: Paeth
                    c = prev[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                out[i] = (out[i] + p) & 255
            cur = bytes(out)
        rows.append(cur)
        prev = cur
    return width, height, rows, bpp


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def count_near(rows: list[bytes], bpp: int, colour: tuple[int, int, int], tol: int) -> int:
    r0, g0, b0 = colour
    found = 0
    for row in rows:
        for i in range(0, len(row), bpp):
            if abs(row[i] - r0) + abs(row[i + 1] - g0) + abs(row[i + 2] - b0) <= tol:
                found += 1
    return found


@pytest.mark.parametrize("which", ["en14825_run", "en14511_run"])
def test_the_report_renders_as_a_real_page_in_headless_chromium(which, request, tmp_path):
    run = request.getfixturevalue(which)
    data = load_run(run.dir)
    html = tmp_path / "report.html"
    html.write_text(report_html(data, build_result(data)), encoding="utf-8")
    png = tmp_path / "shot.png"
    screenshot(html, png, tmp_path / "profile")

    width, height, rows, bpp = decode_png(png.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    white = b"\xff\xff\xff"
    not_white = sum(1 for row in rows for i in range(0, len(row), bpp) if row[i : i + 3] != white)
    share = not_white / (width * height)
    assert 0.03 < share < 0.9, f"{share:.1%} of the page is not white: blank or broken"
    # the page's own colours on its first screen: table headers and the statement boxes
    # (results relate only to the item tested), so the stylesheet was applied; the charts are
    # checked on the printed pages (test_report_pdf.py)
    assert count_near(rows, bpp, rgb("#e7f0f8"), 6) > 5000, "no styled table headers"
    assert count_near(rows, bpp, rgb("#f1f7fd"), 4) > 5000, "no statement boxes"
