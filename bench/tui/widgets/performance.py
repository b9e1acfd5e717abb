"""What the unit does now: heating capacity, electrical power, COP and water ΔT, from the newest
frame as the plots derive them (`bench.tui.history.derive`, once a frame), with fixed decimals.

    capacity   9250 W  power  1917 W
    COP        4.82    ΔT     5.01 K
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from bench.run.frame import Frame
from bench.run.points import HP_DEFROST, POWER
from bench.tui.fmt import number
from bench.tui.history import SERIES, UNIT_ON_W

COLUMN = 6  # every number right-aligned in this many cells: nothing jumps as values change


def _cell(values: dict[str, float], series: str, unit: str) -> str:
    value = values[series]
    shown = "—" if math.isnan(value) else number(value, unit, series)
    return shown.rjust(COLUMN)


def why_hidden(frame: Frame | None) -> str:
    """Why capacity and COP are not shown (the unit off or defrosting), else ''."""
    if frame is None:
        return "no data"
    power = frame.value(POWER)
    if power is None:
        return "no power reading"
    if power <= UNIT_ON_W:
        return "unit off"
    return "defrost" if (frame.value(HP_DEFROST) or 0) >= 0.5 else ""


class Performance(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._frame: Frame | None = None
        self._shown: tuple[object, str] | None = None

    def on_mount(self) -> None:
        self.border_title = "performance"
        self._draw(None, (math.nan,) * len(SERIES))

    def show(self, latest: tuple[Frame, tuple[float, ...]] | None) -> None:
        """The newest frame and its derived values (`History.latest`: derived once a frame)."""
        if latest is not None and latest[0] is not self._frame:
            self._frame = latest[0]
            self._draw(*latest)

    def _draw(self, frame: Frame | None, raw: tuple[float, ...]) -> None:
        values = dict(zip(SERIES, raw, strict=True))
        hidden = why_hidden(frame)
        self.border_title = f"performance · {hidden}" if hidden else "performance"
        lines = Text("capacity ")
        lines.append(_cell(values, "capacity", "W"), style="bold")
        lines.append(" W  power ")
        lines.append(_cell(values, "power", "W"), style="bold")
        lines.append(" W\nCOP      ")
        lines.append(_cell(values, "cop", ""), style="bold")
        lines.append("    ΔT    ")
        lines.append(_cell(values, "delta_t", "K"), style="bold")
        lines.append(" K")
        if (self.border_title, lines.plain) != self._shown:  # same digits: no repaint
            self._shown = (self.border_title, lines.plain)
            self.update(lines, layout=False)  # always two lines
