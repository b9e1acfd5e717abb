"""Simulated Yokogawa WT332E / WT333E / WT1800E / WT5000: the numeric-item command group.

It answers what the driver sends (docs/protocols.md §1.1-§1.3) in short or long form, case
insensitive, and queues `<code>,"<text>"` for `:STAT:ERR?` on anything else (113 undefined
header, 222 out of range, 221 a setting while integration runs). The unit's input is split
evenly over the measured elements (a balanced three-phase load from the bench model); Σ is the
sum (U, I: the mean). Auto range picks the smallest range holding the value. The OVER_RANGE
fault of `role` makes every measured item read INF. Integration follows bench time. `feed`
says which supply the analyser is wired into (the whole unit, or a part: feeds.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from instruments.power_analyser.yokogawa_wt import WT_MODELS, WtModel
from instruments.sim.feeds import Feed, whole
from instruments.sim.line_server import nr3, over_range, phase_values, range_for
from instruments.sim.model import BenchModel

_LONG = {
    "NUMERIC": "NUM", "NORMAL": "NORM", "FORMAT": "FORM", "NUMBER": "NUM", "VALUE": "VAL",
    "INPUT": "INP", "VOLTAGE": "VOLT", "CURRENT": "CURR", "RANGE": "RANG", "WIRING": "WIR",
    "INTEGRATE": "INTEG", "START": "STAR", "RESET": "RES", "STATUS": "STAT", "ERROR": "ERR",
    "COMMUNICATE": "COMM", "REMOTE": "REM", "HEADER": "HEAD", "SYSTEM": "SYST",
}  # fmt: skip
_SIZES = {"P1W2": 1, "P1W3": 2, "P3W3": 2, "P3W4": 3, "V3A3": 3}
_FIRMWARE = {"WT332E": "F1.02", "WT333E": "F1.02", "WT1800E": "F2.01", "WT5000": "F3.01"}


def _short(header: str) -> str:
    parts = header.upper().lstrip(":").split(":")
    out = []
    for p in parts:
        m = re.fullmatch(r"([A-Z*]+)(\d*)(\??)", p)
        if m is None:
            return "?bad"
        out.append(_LONG.get(m.group(1), m.group(1)) + m.group(2) + m.group(3))
    return ":".join(out)


@dataclass
class WtSim:
    model: BenchModel
    spec: WtModel = WT_MODELS["WT333E"]
    serial: str = "C3WT0001"
    feed: Feed = whole
    role: str = "power_analyser"  # whose OVER_RANGE fault this analyser shows
    items: dict[int, tuple[str, str]] = field(default_factory=dict)
    count: int = 0
    wiring: tuple[str, ...] = ("P1W2",)
    volt_range: float | None = None  # None: auto
    curr_range: float | None = None
    integ: str = "RES"
    integ_wh: float = 0.0  # integrated while running, per the whole unit
    _integ_from: float | None = None
    errors: list[str] = field(default_factory=list)

    def handle(self, line: str) -> str | None:
        replies = []
        for part in line.split(";"):
            text = part.strip()
            if not text:
                continue  # a blank command: the "leading newline" clear
            header, _, arg = text.partition(" ")
            try:
                reply = self._execute(_short(header), arg.strip())
            except ValueError as exc:
                self.errors.append(str(exc))
                reply = None
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def _execute(self, h: str, arg: str) -> str | None:
        if h == "*IDN?":
            return f"YOKOGAWA,{self.spec.model},{self.serial},{_FIRMWARE[self.spec.model]}"
        if h == "STAT:ERR?":
            return self.errors.pop(0) if self.errors else '0,"No error"'
        if h in ("*CLS", "*RST", "SYST:COMM:COMM", "COMM:REM", "COMM:HEAD") or (
            h == "NUM:FORM" and arg.upper().startswith("ASC")
        ):
            if h == "*CLS":
                self.errors.clear()
            return None
        if h == "NUM:NORM:VAL?":
            self.model.advance()  # once per query: every item from the same instant
            return ",".join(
                self._value(*self.items.get(n, ("NONE", "1"))) for n in range(1, self.count + 1)
            )
        if h == "INTEG:STAT?":
            return self.integ
        if h in ("INTEG:STAR", "INTEG:STOP", "INTEG:RES"):
            self._integrate(h.split(":")[1])
            return None
        if self.integ != "RES" and h in ("INP:WIR", "INP:VOLT:RANG", "INP:CURR:RANG", "RATE"):
            raise ValueError('221,"Setting conflict"')
        if h == "NUM:NORM:NUM":
            self.count = self._int(arg, 1, 255)
            return None
        m = re.fullmatch(r"NUM:NORM:ITEM(\d+)", h)
        if m:
            n = self._int(m.group(1), 1, 255)
            func, _, elem = arg.upper().partition(",")
            if func not in self.spec.functions.values() or not self._element_ok(elem):
                raise ValueError('224,"Illegal parameter value"')
            self.items[n] = (func, elem)
            return None
        if h == "INP:WIR":
            self.wiring = tuple(c.strip().upper() for c in arg.split(","))
            return None
        if h in ("INP:VOLT:AUTO", "INP:CURR:AUTO"):
            if arg.upper() in ("ON", "1"):
                setattr(self, "volt_range" if "VOLT" in h else "curr_range", None)
            return None
        if h in ("INP:VOLT:RANG", "INP:CURR:RANG"):
            volt = "VOLT" in h
            allowed = self.spec.voltage_ranges if volt else self.spec.current_ranges
            value = self._float(arg)
            if value not in allowed:
                raise ValueError('222,"Data out of range"')
            setattr(self, "volt_range" if volt else "curr_range", value)
            return None
        if h == "RATE":
            if self._float(arg) not in self.spec.rates_s:
                raise ValueError('222,"Data out of range"')
            return None
        raise ValueError('113,"Undefined header"')

    def _element_ok(self, elem: str) -> bool:
        if elem in ("SIGMA", "SIGMB", "SIGMC"):
            return True
        return elem.isdigit() and int(elem) in self.spec.elements

    def _integrate(self, what: str) -> None:
        self.model.advance()
        if what == "STAR" and self.integ in ("RES", "STOP"):
            self.integ, self._integ_from = "STAR", self.feed(self.model).energy_wh
        elif what == "STOP" and self.integ == "STAR":
            self.integ_wh += self.feed(self.model).energy_wh - (self._integ_from or 0.0)
            self.integ, self._integ_from = "STOP", None
        elif what == "RES" and self.integ != "STAR":
            self.integ, self.integ_wh = "RES", 0.0
        else:
            raise ValueError('221,"Setting conflict"')
        return None

    def _value(self, func: str, elem: str) -> str:
        if func == "NONE":
            return "NAN"
        sizes = self._group_sizes()
        elements = self._wired()
        supply = self.feed(self.model)
        ph = phase_values(supply, elements)
        n = 1
        if not elem.isdigit():
            group = "ABC".index(elem[-1])
            if group >= len(sizes):
                return "NAN"  # no such Σ group in this wiring: data does not exist
            n = sizes[group]
        if func in ("URAN", "IRAN"):
            volt = func == "URAN"
            fixed = self.volt_range if volt else self.curr_range
            ranges = self.spec.voltage_ranges if volt else self.spec.current_ranges
            return nr3(fixed if fixed is not None else range_for(ph.u if volt else ph.i, ranges))
        if over_range(self.model, self.role):
            return "INF"
        wh = self.integ_wh
        if self.integ == "STAR" and self._integ_from is not None:
            wh += supply.energy_wh - self._integ_from
        value = {
            "U": ph.u, "URMS": ph.u, "I": ph.i, "IRMS": ph.i, "P": ph.p * n, "S": ph.s * n,
            "Q": ph.q * n, "LAMB": ph.pf, "FU": ph.f, "WH": wh / elements * n,
            "WP": wh / elements * n,
        }[func]  # fmt: skip
        fixed = self.volt_range if func in ("U", "URMS") else self.curr_range
        if func in ("U", "URMS", "I", "IRMS") and fixed is not None and value > 1.4 * fixed:
            return "INF"  # beyond the crest of a fixed range: over-range
        return nr3(value)

    def _wired(self) -> int:
        return max(1, sum(_SIZES.get(c, 1) for c in self.wiring))

    def _group_sizes(self) -> list[int]:
        return [_SIZES[c] for c in self.wiring if _SIZES.get(c, 1) > 1]

    @staticmethod
    def _int(text: str, lo: int, hi: int) -> int:
        if not text.strip().isdigit() or not lo <= int(text) <= hi:
            raise ValueError('222,"Data out of range"')
        return int(text)

    @staticmethod
    def _float(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise ValueError('224,"Illegal parameter value"') from None
