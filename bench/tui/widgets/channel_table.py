"""Every channel of the bench, live: value with unit, coloured by quality (ok / stale / invalid).

A Line API widget: each row is one cached `Strip`, rebuilt only when its reading changed, and
only those lines are repainted. (A `DataTable` re-renders every visible row on any cell change:
at 10 updates a second that alone cost tens of milliseconds of the loop per update.)
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bench.run.frame import Frame
from bench.tui.fmt import QUALITY_MARK, number
from instruments.base import Quality, Reading

ROLE_TITLES = {
    "climate_chamber": "climate chamber",
    "power_analyser": "power analyser",
    "heat_pump": "heat pump",
    "hydraulic_module": "hydraulic module",
}
NAME_W, VALUE_W, MARK_W = 18, 12, 7
WIDTH = NAME_W + VALUE_W + 1 + MARK_W
STYLES = {
    Quality.OK: Style(color="green"),
    Quality.STALE: Style(color="yellow"),
    Quality.INVALID: Style(color="red"),
}
VALUE_STYLE = {Quality.OK: Style(), **{q: STYLES[q] for q in (Quality.STALE, Quality.INVALID)}}
DIM, BOLD, DOWN = Style(dim=True), Style(bold=True), Style(bold=True, color="yellow")
HEADER = Style(bold=True, dim=True)


@dataclass
class Row:
    key: str  # channel id, or the role for a role's title row
    label: str
    unit: str = ""
    is_role: bool = False


class ChannelTable(ScrollView, can_focus=True):
    def __init__(self, channels: dict[str, str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.channels = channels
        self.rows: list[Row] = [Row("", "")]  # the header
        for cid, unit in channels.items():
            role, name = cid.split(".", 1)
            if self.rows[-1].key.split(".", 1)[0] != role:
                self.rows.append(Row(role, ROLE_TITLES.get(role, role), is_role=True))
            self.rows.append(Row(cid, name, unit))
        self.index = {row.key: y for y, row in enumerate(self.rows)}
        self.strips = [self._draw(row, None) for row in self.rows]
        header = ["channel".ljust(NAME_W), "value".rjust(VALUE_W) + " ", "q".ljust(MARK_W)]
        self.strips[0] = _strip([(text, HEADER) for text in header])
        self._shown: dict[str, tuple[float | None, Quality]] = {}
        self._down: dict[str, bool] = {}
        self.virtual_size = Size(WIDTH, len(self.rows))

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        if index >= len(self.strips):
            return Strip.blank(width, self.rich_style)
        strip = self.strips[index].crop(self.scroll_offset.x, self.scroll_offset.x + width)
        return strip.extend_cell_length(width).apply_style(self.rich_style)

    def show(self, frame: Frame | None) -> None:
        """Redraw the rows whose reading changed since the last frame shown."""
        if frame is None:
            return
        down: dict[str, bool] = {}
        for cid, reading in frame.readings.items():
            role = cid.split(".", 1)[0]
            down[role] = down.get(role, True) and reading.quality is Quality.STALE
            y = self.index.get(cid)
            if y is None or self._shown.get(cid) == (reading.value, reading.quality):
                continue
            self._shown[cid] = (reading.value, reading.quality)
            self.strips[y] = self._draw(self.rows[y], reading)
            self.refresh_line(y)
        for role, is_down in down.items():
            if self._down.get(role, False) != is_down and role in self.index:
                self._down[role] = is_down
                y = self.index[role]
                self.strips[y] = self._draw(self.rows[y], None, down=is_down)
                self.refresh_line(y)

    def text_of(self, key: str) -> str:
        """The row of a channel (or role) as plain text: what a test or a reader sees."""
        return self.strips[self.index[key]].text

    @staticmethod
    def _draw(row: Row, reading: Reading | None, *, down: bool = False) -> Strip:
        if row.is_role:
            parts = [(row.label.ljust(NAME_W), BOLD)]
            if down:
                parts.append(("no answer".rjust(VALUE_W), DOWN))
            return _strip(parts)
        name = (" " + row.label)[:NAME_W].ljust(NAME_W)
        if reading is None:
            value = f"— {row.unit}".strip().rjust(VALUE_W)
            return _strip([(name, Style()), (value, DIM), (" " + "-".ljust(MARK_W), DIM)])
        unit = reading.unit or row.unit
        value = f"{number(reading.value, unit, row.label)} {unit}".strip().rjust(VALUE_W)
        return _strip(
            [
                (name, Style()),
                (value, VALUE_STYLE[reading.quality]),
                (" " + QUALITY_MARK[reading.quality].ljust(MARK_W), STYLES[reading.quality]),
            ]
        )


def _strip(parts: list[tuple[str, Style]]) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])
