"""The event and alarm log: state changes, points, operator actions, instrument health."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import RichLog

from bench.run.engine import Event
from bench.tui.fmt import number, stamp

KIND_STYLE = {
    "alarm": "bold red",
    "interlock": "bold red",
    "safety": "bold magenta",
    "gap": "yellow",
    "instrument": "yellow",
    "acquisition": "yellow",
    "operator": "cyan",
    "point": "green",
    "transient": "magenta",
    "defrost": "magenta",
    "run": "bold",
    "state": "",
    "command": "dim",
}


FLOAT_NOISE = re.compile(r"-?\d+\.\d{4,}")  # 86.83887236936457: a float printed whole


def readable(message: str) -> str:
    """A message with float noise cut to the digits a bench reading deserves (86.84)."""
    return FLOAT_NOISE.sub(lambda m: number(float(m.group())), message)


def line(event: Event) -> Text:
    style = KIND_STYLE.get(event.kind, "")
    return Text.assemble(
        (stamp(event.t), "dim"),
        " ",
        (f"{event.kind:<10}", style),
        " ",
        (readable(event.message), style),
    )


class EventLog(RichLog):
    def __init__(
        self, *, kinds: set[str] | None = None, wrap: bool = False, **kwargs: object
    ) -> None:
        kwargs.setdefault("max_lines", 1000)
        if wrap:
            kwargs.setdefault("min_width", 20)  # wrap at the widget's width, however narrow
        super().__init__(wrap=wrap, markup=False, **kwargs)  # type: ignore[arg-type]
        self.kinds = kinds  # None: every kind
        self.last = 0  # the number of the last event written

    def show(self, numbered: Iterable[tuple[int, Event]]) -> None:
        """Append the events not yet written (they come numbered from the live state)."""
        for n, event in numbered:
            if n <= self.last:
                continue
            self.last = n
            if self.kinds is None or event.kind in self.kinds:
                self.write(line(event))
