"""Live plots (textual-plotext): air, water in/out, electrical power and capacity, COP.

Drawn from a `History` over a selectable window, at most `MAX_REDRAW_HZ` times a second and only
while on screen: a plot costs far more to build than a table cell. The same widget replays a
recorded run (`bench.tui.recorded`).
"""

from __future__ import annotations

import math
import time

from textual.app import ComposeResult
from textual.containers import Grid
from textual_plotext import PlotextPlot

from bench.tui.history import History, window_label

MAX_REDRAW_HZ = 2.0
# (id, title, ((series, label), ...))
PLOTS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("air", "air °C", (("air", "dry bulb"),)),
    ("water", "water °C", (("water_in", "in"), ("water_out", "out"))),
    ("power", "W", (("power", "electrical"), ("capacity", "capacity"))),
    ("cop", "COP", (("cop", "COP"),)),
)


class LivePlots(Grid):
    def __init__(self, history: History, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history = history
        self.window = history.windows[0]
        self._drawn: tuple[int, float] | None = None
        self._last_draw = 0.0

    def compose(self) -> ComposeResult:
        for key, _, _ in PLOTS:
            yield PlotextPlot(id=f"plot-{key}")

    def cycle_window(self) -> float:
        windows = self.history.windows
        self.window = windows[(windows.index(self.window) + 1) % len(windows)]
        self.show(force=True)
        return self.window

    def show(self, history: History | None = None, *, force: bool = False) -> None:
        if history is not None and history is not self.history:
            self.history, self.window, force = history, history.windows[0], True
        key = (self.history.version, self.window)
        if key == self._drawn or not (force or self.is_on_screen):
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 1.0 / MAX_REDRAW_HZ:
            return
        self._drawn, self._last_draw = key, now
        xs, columns = self.history.series(self.window)
        span = window_label(self.window)
        for key_, title, series in PLOTS:
            plot = self.query_one(f"#plot-{key_}", PlotextPlot)
            plt = plot.plt
            plt.clear_data()
            plt.title(f"{title} · {span}")
            for name, label in series:
                points = [
                    (x, y) for x, y in zip(xs, columns[name], strict=True) if not math.isnan(y)
                ]
                if points:
                    plt.plot([p[0] for p in points], [p[1] for p in points], label=label)
            plot.refresh()
