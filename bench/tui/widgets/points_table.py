"""The points of a run: every point of the plan (pending, running, or finished with its
capacity, power and COP ± U), and why a point is not valid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from bench.tui.fmt import number
from bench.tui.session import PointResult

STATUS_STYLE = {
    "valid": "green",
    "invalid": "yellow",
    "failed": "red",
    "skipped": "dim",
    "running": "bold cyan",
    "pending": "dim",
}


@dataclass(frozen=True)
class PointRow:
    id: str
    status: str  # pending / running / valid / invalid / failed / skipped
    capacity_w: float | None = None
    power_w: float | None = None
    cop: float | None = None
    cop_u: float | None = None  # expanded uncertainty (k=2): the point record's, then result.json's
    note: str = ""


def point_rows(
    plan_ids: Iterable[str],
    finished: list[PointResult],
    running: str = "",
    cops: dict[str, tuple[float | None, float | None]] | None = None,
) -> list[PointRow]:
    """The plan's points in plan order with what is known of each; a finished point not in the
    plan list (an old run read back) is kept too. U(COP) is the point record's as soon as the
    point ends; `cops` (COP and U by point as result.json states them, `cop_with_uncertainty`)
    wins once that file is written."""
    done = {p.id: p for p in finished}
    cops = cops or {}
    rows = []
    for point_id in dict.fromkeys([*plan_ids, *done]):
        p = done.get(point_id)
        if p is None:
            rows.append(PointRow(point_id, "running" if point_id == running else "pending"))
            continue
        note = p.reason or ("transient" if p.transient else "")
        u = cops[point_id][1] if point_id in cops else p.cop_u
        rows.append(PointRow(p.id, p.status, p.capacity_w, p.power_w, p.cop, u, note))
    return rows


def _num(value: float | None, unit: str, channel: str | None = None) -> Text:
    return Text("" if value is None else number(value, unit, channel), justify="right")


class PointsTable(DataTable[Text]):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        self._shown: list[PointRow] = []

    def on_mount(self) -> None:
        self.add_column("point", key="id")
        self.add_column("status", key="status")
        self.add_column(Text("capacity W", justify="right"), key="capacity")
        self.add_column(Text("power W", justify="right"), key="power")
        self.add_column(Text("COP ± U", justify="right"), key="cop")
        self.add_column("note", key="note")

    def show(self, rows: list[PointRow]) -> None:
        """Redrawn whole when anything changed (a plan has tens of points, not thousands)."""
        if rows == self._shown:
            return
        cursor = self.cursor_row
        self.clear()
        for row in rows:
            cop = "" if row.cop is None else number(row.cop, "", "cop")
            if row.cop_u is not None:
                cop += f" ± {number(row.cop_u, '', 'cop')}"
            self.add_row(
                Text(row.id),
                Text(row.status, STATUS_STYLE.get(row.status, "")),
                _num(row.capacity_w, "W"),
                _num(row.power_w, "W"),
                Text(cop, justify="right"),
                Text(row.note),
            )
        self._shown = list(rows)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))
