"""Finished points of a run: status, capacity, power, COP and why a point is not valid."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from bench.tui.session import PointResult

STATUS_STYLE = {"valid": "green", "invalid": "yellow", "failed": "red", "skipped": "dim"}


def _num(value: float | None, fmt: str) -> Text:
    return Text("-" if value is None else format(value, fmt), justify="right")


class PointsTable(DataTable[Text]):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        self._shown: list[PointResult] = []

    def on_mount(self) -> None:
        self.add_column("point", key="id")
        self.add_column("status", key="status")
        self.add_column(Text("capacity W", justify="right"), key="capacity")
        self.add_column(Text("power W", justify="right"), key="power")
        self.add_column(Text("COP", justify="right"), key="cop")
        self.add_column("note", key="note")

    def show(self, points: list[PointResult]) -> None:
        if points == self._shown:
            return
        if points[: len(self._shown)] != self._shown:
            self.clear()
            self._shown = []
        for p in points[len(self._shown) :]:
            note = p.reason or ("transient" if p.transient else "")
            self.add_row(
                Text(p.id),
                Text(p.status, STATUS_STYLE.get(p.status, "")),
                _num(p.capacity_w, ".0f"),
                _num(p.power_w, ".0f"),
                _num(p.cop, ".2f"),
                Text(note),
            )
        self._shown = list(points)
