"""Live plots (textual-plotext): air, water in/out, electrical power and capacity, COP.

Drawn from a `History` over a selectable window, at most `MAX_REDRAW_HZ` times a second and only
while on screen: a plot costs far more to build than a table cell. The same widget replays a
recorded run (`bench.tui.recorded`). The x axis is bench clock time (UTC), ticks fall on round
values, collection periods are marked by vertical lines (start and end), and each series' colour
is named in the title instead of a legend box drawn over the data.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterable

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import Grid
from textual_plotext import PlotextPlot

from bench.run.engine import Event
from bench.tui.history import History, window_label

MAX_REDRAW_HZ = 2.0
Y_TICKS = 4  # about this many y ticks; x ticks come from TIME_STEPS_S
FRAME_ROWS = 5  # a plot's rows that are not data: title, frame, x tick labels, x label
ROWS_PER_Y_TICK = 4  # never two y labels so close that plotext drops one of them
TIME_STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
COLLECTION_COLOUR = "green"
# (id, title, unit, ((series, label, colour), ...))
PLOTS: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("air", "air", "°C", (("air", "dry bulb", "cyan"),)),
    ("water", "water", "°C", (("water_in", "in", "blue"), ("water_out", "out", "red"))),
    ("power", "", "W", (("power", "electrical", "yellow"), ("capacity", "capacity", "red"))),
    ("cop", "COP", "(unit heating)", (("cop", "COP", "magenta"),)),
)


def round_ticks(low: float, high: float, count: int = Y_TICKS) -> tuple[list[float], int]:
    """Ticks at a round step (1, 2, 2.5 or 5 × 10^k) covering low..high, and the decimals the
    step needs: 0, 5, 10, 15 instead of -57.6, -43.2."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [], 0
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first + i * step for i in range(count + 3) if first + i * step <= high + step]
    decimals = 0
    while abs(round(step, decimals) - step) > 1e-9 * step:  # 0.25 needs two, 2.5 one, 25 none
        decimals += 1
    return ticks, decimals


def time_ticks(start: float, end: float, count: int = 4) -> list[float]:
    """Bench times on a round minute step (1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6 h)."""
    step = next((s for s in TIME_STEPS_S if (end - start) / s <= count), TIME_STEPS_S[-1])
    first = math.ceil(start / step) * step
    return [float(t) for t in range(int(first), int(end) + 1, step)]


def collection_windows(events: Iterable[Event]) -> list[tuple[float, float | None]]:
    """(start, end or None while collecting) of each collection period, from state events."""
    out: list[tuple[float, float | None]] = []
    for event in events:
        if event.kind != "state":
            continue
        if event.data.get("to") == "collecting":
            out.append((event.t, None))
        elif event.data.get("from") == "collecting" and out and out[-1][1] is None:
            out[-1] = (out[-1][0], event.t)
    return out


def _clock(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%H:%M")


class RoundPlot(PlotextPlot):
    """A plot whose y ticks are chosen when it is painted, for the rows it really has: round
    values, spaced so that none is dropped (which one plotext drops is not stable)."""

    y_range: tuple[float, float] | None = None

    def render(self) -> RenderableType:
        if self.y_range is not None:
            low, high = self.y_range
            pad = max(high - low, 1e-6) * 0.05
            count = max(1, (self.size.height - FRAME_ROWS) // ROWS_PER_Y_TICK)
            ticks, decimals = round_ticks(low, high, count=count)
            shown = [t for t in ticks if low - pad <= t <= high + pad] or ticks[:1]
            self.plt.yticks(shown, [f"{y:.{decimals}f}" for y in shown])
            self.plt.ylim(min(low - pad, shown[0]), max(high + pad, shown[-1]))
        return super().render()


class LivePlots(Grid):
    def __init__(self, history: History, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history = history
        self.window = history.windows[0]
        self.events: Iterable[tuple[int, Event]] = ()  # numbered, as `LiveState.events`
        self._drawn: tuple[int, float] | None = None
        self._last_draw = 0.0

    def compose(self) -> ComposeResult:
        for key, _, _, _ in PLOTS:
            yield RoundPlot(id=f"plot-{key}")

    def cycle_window(self) -> float:
        windows = self.history.windows
        self.window = windows[(windows.index(self.window) + 1) % len(windows)]
        self.show(force=True)
        return self.window

    def show(
        self,
        history: History | None = None,
        *,
        force: bool = False,
        events: Iterable[tuple[int, Event]] | None = None,
    ) -> None:
        if events is not None:
            self.events = events
        if history is not None and history is not self.history:
            self.history, self.window, force = history, history.windows[0], True
        key = (self.history.version, self.window)
        if key == self._drawn or not (force or self.is_on_screen):
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 1.0 / MAX_REDRAW_HZ:
            return
        self._drawn, self._last_draw = key, now
        self._draw()

    def _draw(self) -> None:
        ts, columns = self.history.series(self.window)
        span = window_label(self.window)
        windows = collection_windows(e for _, e in self.events)
        for key, title, unit, series in PLOTS:
            plot = self.query_one(f"#plot-{key}", RoundPlot)
            plt = plot.plt
            plt.clear_data()
            plt.clear_figure()
            names = " ".join(f"{label}={colour}" for _, label, colour in series)
            plt.title(
                (f"{title} {unit}: {names}" if len(series) > 1 else f"{title} {unit}").strip()
            )
            ys: list[float] = []
            for name, _, colour in series:
                points = [
                    (x, y) for x, y in zip(ts, columns[name], strict=True) if math.isfinite(y)
                ]
                if points:
                    plt.plot([p[0] for p in points], [p[1] for p in points], color=colour)
                    ys.extend(p[1] for p in points)
            plot.y_range = (min(ys), max(ys)) if ys else None
            if ts:
                self._axes(plt, ts[0], ts[-1], span, windows)
            plot.refresh()

    @staticmethod
    def _axes(
        plt: object,
        start: float,
        end: float,
        span: str,
        windows: list[tuple[float, float | None]],
    ) -> None:
        xt = time_ticks(start, end)
        plt.xticks(xt, [_clock(t) for t in xt])  # type: ignore[attr-defined]
        plt.xlabel(f"bench time UTC (h:min), last {span}")  # type: ignore[attr-defined]
        for begin, finish in windows:
            for t in (begin, finish):
                if t is not None and start <= t <= end:
                    plt.vline(t, COLLECTION_COLOUR)  # type: ignore[attr-defined]
