"""What the unit does now: heating capacity, electrical power, COP and water ΔT, from the newest
frame by the plots' own derivation (`bench.tui.history.derive`), with fixed decimals.

    capacity   9250 W  power  1917 W
    COP        4.82    ΔT     5.01 K
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from bench.run.frame import Frame
from bench.run.points import HP_DEFROST, POWER
from bench.run.results import WaterSide
from bench.tui.fmt import number
from bench.tui.history import SERIES, UNIT_ON_W, derive

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
    def __init__(self, water: WaterSide, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.water = water
        self._frame: Frame | None = None

    def on_mount(self) -> None:
        self.border_title = "performance"
        self._draw(None)

    def show(self, frame: Frame | None) -> None:
        if frame is not None and frame is not self._frame:
            self._frame = frame
            self._draw(frame)

    def _draw(self, frame: Frame | None) -> None:
        raw = derive(frame, self.water) if frame is not None else (math.nan,) * len(SERIES)
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
        self.update(lines, layout=False)  # always two lines
