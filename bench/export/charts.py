"""The report's charts: matplotlib (Agg) figures rendered to inline SVG text.

Matplotlib gives round ticks, clock-time axes, legible error bars and print-quality output for
free; what it does not give by default is the same bytes twice. Three settings make a chart a
pure function of its data (docs/decisions/0131): `svg.hashsalt` (the ids of clip paths and
markers), `metadata={"Date": None}` (no creation time), and text kept as text in one named
font (`svg.fonttype = "none"`, DejaVu Sans, which ships with matplotlib, so the layout is
measured the same everywhere). Long series are cut to the minimum and maximum of each pixel
column first (what a line a pixel wide can show anyway), so an overnight run stays small.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

PALETTE = ("#1f6fb4", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#495057")
BAND_FILL = "#ffe8a3"
LIMIT_LINE = "#c92a2a"
STYLE = {
    "svg.hashsalt": "hpbench-report",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.grid": True,
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.7,
    "axes.edgecolor": "#495057",
    "axes.linewidth": 0.8,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "lines.linewidth": 1.3,
    "path.simplify": True,
}
LEFT_IN = 0.8  # room for five-digit tick labels and the axis label
WIDTH_IN = 7.2  # the text width of A4 with the print margins: charts print at 1:1
UTC = dt.UTC


@dataclass
class Line:
    label: str
    t: Sequence[float]  # epoch seconds (bench time, UTC)
    ys: Sequence[float | None]  # None breaks the line
    color: str = PALETTE[0]
    dashed: bool = False


@dataclass
class Band:
    """A shaded time range (a collection window) with a short label on top."""

    t0: float
    t1: float
    label: str = ""


@dataclass
class Limits:
    """A set value and its permissible band, drawn behind a zoomed point."""

    set_value: float
    half_width: float


@dataclass
class Panel:
    """One axes of a stacked figure: lines sharing a y unit, with an optional limit band."""

    y_label: str
    lines: list[Line]
    limits: list[Limits] = field(default_factory=list)


def decimate(
    xs: Sequence[float], ys: Sequence[float | None], columns: int
) -> tuple[list[float], list[float | None]]:
    """At most ~2 points per column: each column's first-seen min and max, in x order; a gap
    inside a column stays a gap."""
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
        if len(good) < len(bucket) or not good:
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


def _svg(fig: Figure, title: str) -> str:
    """The figure as an `<svg>` element (no XML prolog, no doctype), sized by its viewBox."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)  # RDF, no use
    # the page sets the width; the viewBox keeps the aspect ratio
    head, rest = text.split(">", 1)
    head = _drop_attr(_drop_attr(head, "width"), "height")
    return f'{head} role="img" aria-label="{_attr(title)}">{rest.strip()}'


def _drop_attr(tag: str, name: str) -> str:
    start = tag.find(f' {name}="')
    if start < 0:
        return tag
    end = tag.index('"', start + len(name) + 3)
    return tag[:start] + tag[end + 1 :]


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _times(ts: Sequence[float]) -> list[dt.datetime]:
    return [dt.datetime.fromtimestamp(t, UTC) for t in ts]


def _nan(ys: Sequence[float | None]) -> list[float]:
    return [math.nan if y is None or not math.isfinite(y) else y for y in ys]


MINUTE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720)


def _clock_axis(ax, span_s: float) -> None:
    """Ticks on round clock times, 5 to 12 of them: every 1, 2, 5, 10, 15, 30 min or hours."""
    minutes = span_s / 60.0
    step = next((m for m in MINUTE_STEPS if minutes / m <= 10), MINUTE_STEPS[-1])
    if step < 60:
        locator = mdates.MinuteLocator(byminute=range(0, 60, step), tz=UTC)
    else:
        locator = mdates.HourLocator(byhour=range(0, 24, step // 60), tz=UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))


def _plot_lines(ax, lines: Sequence[Line], columns: int) -> None:
    for line in lines:
        xs, ys = decimate(line.t, line.ys, columns)
        ax.plot(
            _times(xs),
            _nan(ys),
            color=line.color,
            linestyle=(0, (5, 3)) if line.dashed else "-",
            label=line.label,
        )


def time_chart(
    title: str, panels: Sequence[Panel], bands: Sequence[Band] = (), height_in: float = 2.4
) -> str:
    """Stacked panels over one clock-time axis (bench time, UTC), collection windows shaded."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            len(panels),
            1,
            sharex=True,
            figsize=(WIDTH_IN, height_in * len(panels)),
            squeeze=False,
            gridspec_kw={"hspace": 0.25},
        )
        _margins(fig, top_in=0.55, bottom_in=0.45)
        all_t = [t for p in panels for ln in p.lines for t in ln.t]
        span = (max(all_t) - min(all_t)) if all_t else 1.0
        for i, (ax, panel) in enumerate(zip(axes[:, 0], panels, strict=True)):
            for band in bands:
                ax.axvspan(*_times([band.t0, band.t1]), color=BAND_FILL, lw=0, zorder=0)
                if i == 0 and band.label:
                    ax.annotate(
                        band.label,
                        xy=(_times([(band.t0 + band.t1) / 2])[0], 1.0),
                        xycoords=("data", "axes fraction"),
                        xytext=(0, -2),
                        textcoords="offset points",
                        ha="center",
                        va="top",
                        color="#7a5c00",
                        fontsize=7.5,
                        fontweight="bold",
                    )
            _plot_lines(ax, panel.lines, 700)
            ax.set_ylabel(panel.y_label)
            _legend_above(ax, len(panel.lines))
            ax.margins(x=0.005, y=0.12)
        fig.suptitle(title, x=LEFT_IN / WIDTH_IN, ha="left", fontsize=9.5, fontweight="bold")
        _clock_axis(axes[-1, 0], span)
        axes[-1, 0].set_xlabel(_time_label(all_t))
        return _svg(fig, title)


def zoom_chart(title: str, panels: Sequence[Panel], window: Band) -> str:
    """One point's collection window and a little before it: each panel with its set value
    and permissible band (the profile's individual limit), so a reader sees why it passed."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            len(panels),
            1,
            sharex=True,
            figsize=(WIDTH_IN, 1.2 * len(panels) + 0.8),
            squeeze=False,
            gridspec_kw={"hspace": 0.35},
        )
        _margins(fig, top_in=0.55, bottom_in=0.45)
        for ax, panel in zip(axes[:, 0], panels, strict=True):
            ax.axvspan(*_times([window.t0, window.t1]), color=BAND_FILL, lw=0, zorder=0)
            for lim in panel.limits:
                ax.axhline(lim.set_value, color=PALETTE[5], lw=0.9, ls=(0, (4, 3)), zorder=1)
                for y in (lim.set_value - lim.half_width, lim.set_value + lim.half_width):
                    ax.axhline(y, color=LIMIT_LINE, lw=1.0, zorder=1)
            _plot_lines(ax, panel.lines, 400)
            ax.set_ylabel(panel.y_label)
            _legend_above(ax, len(panel.lines))
            ax.margins(x=0.0, y=0.15)
            _show_limits(ax, panel)
        fig.suptitle(title, x=LEFT_IN / WIDTH_IN, ha="left", fontsize=9.5, fontweight="bold")
        all_t = [t for p in panels for ln in p.lines for t in ln.t]
        _clock_axis(axes[-1, 0], (max(all_t) - min(all_t)) if all_t else 1.0)
        axes[-1, 0].set_xlabel(_time_label(all_t))
        return _svg(fig, title)


def _show_limits(ax, panel: Panel) -> None:
    """Widen the y range to the limit lines (axhline does not take part in autoscaling)."""
    if not panel.limits:
        return
    lo, hi = ax.get_ylim()
    lo = min([lo, *(x.set_value - 1.15 * x.half_width for x in panel.limits)])
    hi = max([hi, *(x.set_value + 1.15 * x.half_width for x in panel.limits)])
    ax.set_ylim(lo, hi)


def _legend_above(ax, entries: int) -> None:
    """The legend in a row just above the plot area, where it hides no data."""
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=max(1, entries),
        borderaxespad=0.1,
        handlelength=2.2,
        columnspacing=1.2,
    )


def _margins(fig: Figure, top_in: float, bottom_in: float) -> None:
    """Fixed margins (in inches) instead of a layout engine: the same for every chart, so
    the plot areas line up down the page, and several times faster than constrained layout."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=LEFT_IN / width,
        right=1 - 0.15 / width,
        top=1 - top_in / height,
        bottom=bottom_in / height,
    )


def _time_label(ts: Sequence[float]) -> str:
    if not ts:
        return "bench time, UTC"
    first, last = _times([min(ts), max(ts)])
    day = first.strftime("%Y-%m-%d")
    if last.date() != first.date():
        day += " to " + last.strftime("%Y-%m-%d")
    return f"bench time, UTC ({day})"


def cop_chart(title: str, labels: Sequence[str], cops: Sequence[float], errors) -> str:
    """COP per point as markers with their expanded uncertainty as capped error bars, each
    labelled `value ± U`: on a bar from zero a ±1 % bar is a hairline, here it is readable."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.6), layout="constrained")
        xs = list(range(len(labels)))
        errs = [e if e is not None else 0.0 for e in errors]
        ax.errorbar(
            xs,
            cops,
            yerr=errs,
            fmt="o",
            color=PALETTE[2],
            ecolor="#212529",
            elinewidth=1.4,
            capsize=6,
            capthick=1.4,
            markersize=5,
            zorder=3,
        )
        for x, v, e in zip(xs, cops, errors, strict=True):
            text = f"{v:.2f}" if e is None else f"{v:.2f} ± {e:.2f}"
            ax.annotate(
                text, (x, v), xytext=(9, 0), textcoords="offset points", va="center", fontsize=7.5
            )
        ax.set_xticks(xs, labels)
        ax.set_xlim(-0.5, len(labels) - 0.2)
        ax.margins(y=0.15)
        ax.set_ylabel("COP")
        ax.set_title(title)
        return _svg(fig, title)


def bins_chart(title: str, bins: Sequence[dict]) -> str:
    """EN 14825 bins: heat load and capacity per Tj as bars, COPbin on a right-hand axis."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.8), layout="constrained")
        xs = [b["tj_c"] for b in bins]
        ax.bar(
            [x - 0.2 for x in xs],
            [b["ph_kw"] for b in bins],
            0.4,
            color=PALETTE[0],
            label="heat load Ph",
        )
        ax.bar(
            [x + 0.2 for x in xs],
            [b["pdh_kw"] for b in bins],
            0.4,
            color=PALETTE[1],
            label="capacity Pdh (measured, interpolated)",
        )
        ax.set_ylabel("kW")
        ax.set_xlabel("outdoor temperature bin Tj, °C")
        right = ax.twinx()
        right.plot(
            xs, _nan([b["cop_bin"] for b in bins]), "o-", color=PALETTE[2], ms=3, label="COPbin"
        )
        right.set_ylabel("COPbin")
        right.grid(False)
        handles = ax.get_legend_handles_labels()
        extra = right.get_legend_handles_labels()
        ax.legend(
            handles[0] + extra[0],
            handles[1] + extra[1],
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            ncols=3,
            borderaxespad=0.1,
        )  # above the plot area: no bar or point hidden
        fig.suptitle(title, x=0.01, ha="left", fontsize=9.5, fontweight="bold")
        return _svg(fig, title)
