"""Hand-written SVG charts for the HTML report: time series, bars with error bars, SCOP bins.

No plotting library: the report must be one self-contained file that prints the same anywhere,
and these four chart kinds are a few hundred lines of plain geometry. Each function returns an
`<svg>` element as text with a `viewBox`, so the page scales it to its width on screen and on
paper. Long series are reduced to the minimum and maximum of each pixel column (what a line a
pixel wide can show anyway), so an overnight run stays a small file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1f6fb4", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#495057")
BAND_FILL = "#ffe8a3"
FONT = "font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif"
MARGIN = (58, 50, 30, 44)  # left, right, top, bottom


@dataclass
class Line:
    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]  # None breaks the line
    color: str = PALETTE[0]
    dashed: bool = False
    right_axis: bool = False


@dataclass
class Band:
    """A shaded x range (a collection window) with a short label on top."""

    x0: float
    x1: float
    label: str = ""


@dataclass
class Bars:
    label: str
    values: Sequence[float | None]
    errors: Sequence[float | None] = field(default_factory=list)  # ± half-widths
    color: str = PALETTE[0]


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round tick values covering lo..hi: steps of 1, 2 or 5 × 10^n."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e5 else f"{v:.3g}"


def _range(values: Sequence[float | None]) -> tuple[float, float] | None:
    good = [v for v in values if v is not None and math.isfinite(v)]
    return (min(good), max(good)) if good else None


def decimate(
    xs: Sequence[float], ys: Sequence[float | None], columns: int
) -> tuple[list[float], list[float | None]]:
    """At most ~2 points per column: each column's first-seen min and max, in x order."""
    n = len(xs)
    if n <= 2 * columns or n < 2:
        return list(xs), list(ys)
    x0, x1 = xs[0], xs[-1]
    width = (x1 - x0) / columns or 1.0
    out_x: list[float] = []
    out_y: list[float | None] = []
    bucket: list[tuple[float, float | None]] = []
    current = 0

    def flush() -> None:
        good = [(x, y) for x, y in bucket if y is not None]
        if len(good) < len(bucket) or not good:  # a gap inside the column: keep it a gap
            out_x.append(bucket[0][0])
            out_y.append(None)
        if good:
            lo = min(good, key=lambda p: p[1])  # type: ignore[arg-type,return-value]
            hi = max(good, key=lambda p: p[1])  # type: ignore[arg-type,return-value]
            for x, y in sorted({lo, hi}):
                out_x.append(x)
                out_y.append(y)

    for x, y in zip(xs, ys, strict=True):
        col = min(columns - 1, int((x - x0) / width))
        if col != current and bucket:
            flush()
            bucket = []
        current = col
        bucket.append((x, y))
    if bucket:
        flush()
    return out_x, out_y


class _Frame:
    """Plot area geometry: data → pixel coordinates, and the axes drawn around it."""

    def __init__(self, width: int, height: int, x: tuple[float, float], y: list[float]) -> None:
        left, right, top, bottom = MARGIN
        self.w, self.h = width, height
        self.px0, self.px1 = left, width - right
        self.py0, self.py1 = height - bottom, top
        self.x0, self.x1 = x if x[1] > x[0] else (x[0], x[0] + 1.0)
        self.yt = y
        self.y0, self.y1 = y[0], y[-1]

    def to_x(self, v: float) -> float:
        return self.px0 + (v - self.x0) / (self.x1 - self.x0) * (self.px1 - self.px0)

    def to_y(self, v: float, ticks: list[float] | None = None) -> float:
        t = ticks or self.yt
        return self.py0 + (v - t[0]) / (t[-1] - t[0]) * (self.py1 - self.py0)

    def axes(self, x_ticks: list[float], x_label: str, y_label: str) -> list[str]:
        parts = []
        for v in self.yt:
            y = self.to_y(v)
            parts.append(
                f'<line x1="{self.px0}" y1="{y:.1f}" x2="{self.px1}" y2="{y:.1f}" '
                'stroke="#e3e6ea" stroke-width="1"/>'
                f'<text x="{self.px0 - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)}</text>'
            )
        for v in x_ticks:
            x = self.to_x(v)
            parts.append(
                f'<line x1="{x:.1f}" y1="{self.py0}" x2="{x:.1f}" y2="{self.py0 + 4}" '
                'stroke="#495057"/>'
                f'<text x="{x:.1f}" y="{self.py0 + 16}" text-anchor="middle">{_fmt(v)}</text>'
            )
        parts.append(
            f'<rect x="{self.px0}" y="{self.py1}" width="{self.px1 - self.px0}" '
            f'height="{self.py0 - self.py1}" fill="none" stroke="#495057" stroke-width="1"/>'
            f'<text x="{(self.px0 + self.px1) / 2:.1f}" y="{self.h - 6}" '
            f'text-anchor="middle">{escape(x_label)}</text>'
            f'<text transform="translate(14 {(self.py0 + self.py1) / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_label)}</text>'
        )
        return parts


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" style="{FONT};font-size:11px">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _path(frame: _Frame, xs: Sequence[float], ys: Sequence[float | None], ticks=None) -> str:
    d: list[str] = []
    pen_up = True
    for x, y in zip(xs, ys, strict=True):
        if y is None or not math.isfinite(y):
            pen_up = True
            continue
        d.append(f"{'M' if pen_up else 'L'}{frame.to_x(x):.1f} {frame.to_y(y, ticks):.1f}")
        pen_up = False
    return " ".join(d)


def _legend(items: list[tuple[str, str, bool]], x: float, y: float) -> list[str]:
    parts = []
    for label, color, dashed in items:
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 18:.1f}" y2="{y - 4:.1f}" '
            f'stroke="{color}" stroke-width="2.5"{dash}/>'
            f'<text x="{x + 22:.1f}" y="{y:.1f}">{escape(label)}</text>'
        )
        x += 30 + 6.2 * len(label)
    return parts


def time_chart(
    title: str,
    lines: Sequence[Line],
    *,
    y_label: str,
    x_label: str = "bench time since the first frame, h",
    bands: Sequence[Band] = (),
    right_label: str = "",
    width: int = 960,
    height: int = 280,
) -> str:
    """Lines over a shared x axis, with shaded bands (the collection windows) behind them."""
    xs_all = [x for line in lines for x in line.xs]
    x_range = (min(xs_all), max(xs_all)) if xs_all else (0.0, 1.0)
    left = [v for line in lines if not line.right_axis for v in line.ys]
    right = [v for line in lines if line.right_axis for v in line.ys]
    y_span = _range(left) or (0.0, 1.0)
    frame = _Frame(width, height, x_range, nice_ticks(*y_span))
    right_ticks = nice_ticks(*(_range(right) or (0.0, 1.0))) if right else None
    body = [f'<rect width="{width}" height="{height}" fill="#fff"/>']
    for band in bands:
        a, b = frame.to_x(max(band.x0, frame.x0)), frame.to_x(min(band.x1, frame.x1))
        body.append(
            f'<rect x="{a:.1f}" y="{frame.py1}" width="{max(1.0, b - a):.1f}" '
            f'height="{frame.py0 - frame.py1}" fill="{BAND_FILL}" class="band"/>'
        )
        if band.label:
            body.append(
                f'<text x="{(a + b) / 2:.1f}" y="{frame.py1 + 11}" text-anchor="middle" '
                f'fill="#7a5c00">{escape(band.label)}</text>'
            )
    body += frame.axes(nice_ticks(*frame_x(frame)), x_label, y_label)
    columns = int(frame.px1 - frame.px0)
    for line in lines:
        xs, ys = decimate(line.xs, line.ys, columns)
        ticks = right_ticks if line.right_axis else None
        dash = ' stroke-dasharray="5 3"' if line.dashed else ""
        body.append(
            f'<path d="{_path(frame, xs, ys, ticks)}" fill="none" stroke="{line.color}" '
            f'stroke-width="1.6" stroke-linejoin="round"{dash}/>'
        )
    if right_ticks:
        for v in right_ticks:
            y = frame.to_y(v, right_ticks)
            body.append(f'<text x="{frame.px1 + 4}" y="{y + 4:.1f}">{_fmt(v)}</text>')
        body.append(
            f'<text transform="translate({width - 20} {(frame.py0 + frame.py1) / 2:.1f}) '
            f'rotate(90)" text-anchor="middle">{escape(right_label)}</text>'
        )
    body += _legend([(ln.label, ln.color, ln.dashed) for ln in lines], frame.px0 + 8, 16)
    return _svg(width, height, title, body)


def frame_x(frame: _Frame) -> tuple[float, float]:
    return frame.x0, frame.x1


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Bars],
    *,
    y_label: str,
    line: Line | None = None,
    line_label: str = "",
    width: int = 960,
    height: int = 280,
) -> str:
    """Grouped bars per category with optional ± error bars, and an optional line on a
    right-hand axis drawn through the category centres (x = category index)."""
    values = [
        v + (e or 0.0) if v is not None else None
        for s in series
        for v, e in zip(s.values, list(s.errors) or [0.0] * len(s.values), strict=True)
    ]
    lo_hi = _range(values) or (0.0, 1.0)
    frame = _Frame(
        width, height, (-0.5, len(categories) - 0.5), nice_ticks(min(0.0, lo_hi[0]), lo_hi[1])
    )
    body = [f'<rect width="{width}" height="{height}" fill="#fff"/>']
    body += frame.axes([], "", y_label)
    slot = (frame.px1 - frame.px0) / max(1, len(categories))
    bar_w = slot * 0.7 / max(1, len(series))
    for i, cat in enumerate(categories):
        cx = frame.to_x(i)
        body.append(
            f'<text x="{cx:.1f}" y="{frame.py0 + 16}" text-anchor="middle">{escape(cat)}</text>'
        )
        for j, s in enumerate(series):
            v = s.values[i]
            if v is None:
                continue
            x = cx - slot * 0.35 + j * bar_w
            y0, y1 = frame.to_y(0.0 if frame.y0 <= 0 else frame.y0), frame.to_y(v)
            body.append(
                f'<rect x="{x:.1f}" y="{min(y0, y1):.1f}" width="{bar_w * 0.92:.1f}" '
                f'height="{abs(y0 - y1):.1f}" fill="{s.color}"/>'
            )
            err = s.errors[i] if i < len(s.errors) else None
            if err:
                mid = x + bar_w * 0.46
                ya, yb = frame.to_y(v - err), frame.to_y(v + err)
                body.append(
                    f'<path d="M{mid:.1f} {ya:.1f} V{yb:.1f} M{mid - 4:.1f} {ya:.1f} '
                    f'h8 M{mid - 4:.1f} {yb:.1f} h8" stroke="#212529" stroke-width="1.2"/>'
                )
    items = [(s.label, s.color, False) for s in series]
    if line is not None:
        right_ticks = nice_ticks(*(_range(line.ys) or (0.0, 1.0)))
        body.append(
            f'<path d="{_path(frame, line.xs, line.ys, right_ticks)}" fill="none" '
            f'stroke="{line.color}" stroke-width="2"/>'
        )
        for x, y in zip(line.xs, line.ys, strict=True):
            if y is not None:
                body.append(
                    f'<circle cx="{frame.to_x(x):.1f}" cy="{frame.to_y(y, right_ticks):.1f}" r="3" '
                    f'fill="{line.color}"/>'
                )
        for v in right_ticks:
            y = frame.to_y(v, right_ticks)
            body.append(f'<text x="{frame.px1 + 4}" y="{y + 4:.1f}">{_fmt(v)}</text>')
        body.append(
            f'<text transform="translate({width - 20} {(frame.py0 + frame.py1) / 2:.1f}) '
            f'rotate(90)" text-anchor="middle">{escape(line_label)}</text>'
        )
        items.append((line.label, line.color, False))
    body += _legend(items, frame.px0 + 8, 16)
    return _svg(width, height, title, body)
