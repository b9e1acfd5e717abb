"""The event and alarm log: state changes, points, operator actions, instrument health.

Messages are shown as a person would write them: a command's Python repr
(`SetAir(temperature_c=7.0, humidity_pct=86.83887236936457)`) reads
`set air: temperature 7.0 °C, humidity 86.84 %`. The full log can be searched, narrowed to
one group of kinds, and stop following new lines while the operator reads back."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import RichLog

from bench.run.engine import Event
from bench.run.progress import stamp
from bench.tui.fmt import number

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
CALL = re.compile(r"\b([A-Z][a-z]+(?:[A-Z][a-z]*)+)\(([^()]*)\)")  # SetAir(...), SafeState()
ARGUMENT = re.compile(r"(\w+)=('[^']*'|[^,]*)")
UNIT_SUFFIX = {"_c": "°C", "_pct": "%", "_m3h": "m³/h", "_w": "W", "_k": "K", "_s": "s", "_v": "V"}
WORDS = re.compile(r"[A-Z][a-z]*")
# the Log tab's kind filter, cycled with `t`: (label, kinds or None for all)
KIND_GROUPS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("all kinds", None),
    ("alarms", frozenset({"alarm", "interlock", "safety"})),
    ("operator", frozenset({"operator", "command"})),
    ("run", frozenset({"run", "state", "point", "transient", "defrost", "emulation"})),
    ("instruments", frozenset({"instrument", "acquisition", "gap", "telemetry"})),
)


def _argument(name: str, value: str) -> str | None:
    if value == "None":
        return None
    value = {"True": "yes", "False": "no"}.get(value, value.strip("'"))
    for suffix, unit in UNIT_SUFFIX.items():
        if name.endswith(suffix):
            return f"{name.removesuffix(suffix).replace('_', ' ')} {value} {unit}"
    return f"{name.replace('_', ' ')} {value}"


def _call(match: re.Match[str]) -> str:
    """`SetHeatPump(running=True, demand_pct=None)` -> `set heat pump: running yes`."""
    what = " ".join(WORDS.findall(match.group(1))).lower()
    parts = [_argument(n, v.strip()) for n, v in ARGUMENT.findall(match.group(2))]
    shown = [p for p in parts if p]
    return f"{what}: {', '.join(shown)}" if shown else what


def readable(message: str) -> str:
    """A message with commands in words and float noise cut to the digits a bench reading
    deserves (86.84)."""
    message = CALL.sub(_call, message)
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
        self.search = ""  # lower case; empty: every message
        self.last = 0  # the number of the last event written

    def matches(self, event: Event) -> bool:
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        return not self.search or self.search in f"{event.kind} {readable(event.message)}".lower()

    def show(self, numbered: Iterable[tuple[int, Event]]) -> None:
        """Append the events not yet written (they come numbered from the live state)."""
        for n, event in numbered:
            if n <= self.last:
                continue
            self.last = n
            if self.matches(event):
                self.write(line(event))

    def refilter(
        self, numbered: Iterable[tuple[int, Event]], kinds: Iterable[str] | None, search: str
    ) -> None:
        """Show the kept events again, through a new kind filter and search."""
        self.kinds = None if kinds is None else set(kinds)
        self.search = search.strip().lower()
        self.clear()
        self.last = 0
        self.show(numbered)

    def toggle_follow(self) -> bool:
        """Follow new lines (scroll to each), or hold still while the operator reads back."""
        self.auto_scroll = not self.auto_scroll
        if self.auto_scroll:
            self.scroll_end(animate=False)
        return self.auto_scroll
