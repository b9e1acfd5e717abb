"""What each device is told against what the bench measures: set point and actual side by side."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from bench.run.frame import Frame
from bench.tui.fmt import QUALITY_STYLE, number
from bench.tui.session import SetpointPair
from instruments.base import Quality


class SetpointTable(Static):
    def __init__(self, pairs: list[SetpointPair], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.pairs = pairs
        self._shown: tuple[object, ...] | None = None

    def on_mount(self) -> None:
        self.border_title = "set point / actual"
        self.show(None)
        self.refresh(layout=True)

    def show(self, frame: Frame | None) -> None:
        readings = frame.readings if frame is not None else {}
        rows = [
            (p.label, readings.get(p.setpoint), readings.get(p.measured) if p.measured else None)
            for p in self.pairs
        ]
        key = tuple((sp and sp.value, pv and (pv.value, pv.quality)) for _, sp, pv in rows)
        if key == self._shown:
            return
        self._shown = key
        table = Table.grid(padding=(0, 1))  # values beside their labels, however wide
        table.add_column(min_width=14)
        table.add_column(justify="right")
        table.add_column(justify="right")
        table.add_column()
        for label, sp, pv in rows:
            unit = (pv or sp).unit if (pv or sp) else ""
            actual = Text(number(pv.value, unit) if pv else "")
            if pv is not None and pv.quality is not Quality.OK:
                actual.stylize(QUALITY_STYLE[pv.quality])
            table.add_row(label, number(sp.value, unit) if sp else "—", actual, unit)
        self.update(table, layout=False)  # one row per pair, always
