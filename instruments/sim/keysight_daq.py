"""Simulated Keysight DAQ970A / 34970A: configure, scan list and `READ?` (docs/protocols.md §1.6).

Which physical quantity sits on which channel is the simulator's wiring (`WIRING`): the
bench's water inlet / outlet Pt100s on 101 / 102, the chamber air on a thermocouple at 103,
and two 4-20 mA transmitters: air humidity (0-100 %RH) on 121 and water flow (0-5 m³/h) on
122. A channel configured as something its wiring cannot give, or current on a channel other
than 21/22, queues `-221,"Settings conflict"`; an unknown header `-113,"Undefined header"`.
A channel in `overloaded` (an open sensor, say) reads the overload value +9.9E+37, and so does
every channel while `role`'s OVER_RANGE fault acts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from instruments.sim.line_server import over_range
from instruments.sim.model import BenchModel

Source = Callable[[BenchModel], float]


def _ma(value: float, low: float, high: float) -> float:
    return (4.0 + 16.0 * (value - low) / (high - low)) / 1000.0  # amperes


WIRING: dict[int, tuple[str, Source]] = {
    101: ("temp", lambda m: m.hydraulic.inlet_meas_c),
    102: ("temp", lambda m: m.hydraulic.outlet_meas_c),
    103: ("temp", lambda m: m.chamber.temp_meas),
    104: ("temp", lambda m: m.chamber.temp_meas - 0.3),
    121: ("current", lambda m: _ma(m.chamber.humi_meas, 0.0, 100.0)),
    122: ("current", lambda m: _ma(m.hydraulic.flow_meas_m3h, 0.0, 5.0)),
}


def _channels(text: str) -> list[int]:
    m = re.search(r"\(@([\d,:]+)\)", text)
    if m is None:
        raise ValueError('-109,"Missing parameter"')
    found: list[int] = []
    for part in m.group(1).split(","):
        a, _, b = part.partition(":")
        found += list(range(int(a), int(b or a) + 1))
    return found


@dataclass
class DaqSim:
    model: BenchModel
    identity: str = "Keysight Technologies,DAQ970A,MY58000001,A.03.02-01.00-03.02-00.02-01-00"
    configured: dict[int, str] = field(default_factory=dict)
    scan: list[int] = field(default_factory=list)
    with_channel: bool = False
    errors: list[str] = field(default_factory=list)
    overloaded: set[int] = field(default_factory=set)
    role: str = "data_logger"

    def handle(self, line: str) -> str | None:
        text = line.strip()
        if not text:
            return None
        header = text.split(" ")[0].upper()
        try:
            return self._execute(header, text)
        except ValueError as exc:
            self.errors.append(str(exc))
            return None

    def _execute(self, header: str, text: str) -> str | None:
        if header == "*IDN?":
            return self.identity
        if header == "SYST:ERR?":
            return self.errors.pop(0) if self.errors else '+0,"No error"'
        if header in ("*CLS", "*RST"):
            self.errors.clear()
            return None
        if header in ("CONF:TEMP", "CONF:CURR:DC"):
            kind = "current" if "CURR" in header else "temp"
            for ch in _channels(text):
                wired = WIRING.get(ch)
                if wired is None or wired[0] != kind or (kind == "current" and ch % 100 < 21):
                    raise ValueError('-221,"Settings conflict"')
                self.configured[ch] = kind
            return None
        if header in ("UNIT:TEMP", "TRIG:COUN", "FORM:READ:TIME"):
            return None
        if header == "FORM:READ:CHAN":
            self.with_channel = text.upper().endswith(("ON", " 1"))
            return None
        if header == "ROUT:SCAN":
            chans = _channels(text)
            if any(ch not in self.configured for ch in chans):
                raise ValueError('-221,"Settings conflict"')
            self.scan = chans
            return None
        if header == "READ?":
            self.model.advance()
            faulted = over_range(self.model, self.role)
            out = []
            for ch in self.scan:
                overloaded = faulted or ch in self.overloaded
                value = 9.9e37 if overloaded else WIRING[ch][1](self.model)
                out.append(f"{value:+.9E}")
                if self.with_channel:
                    out.append(str(ch))
            return ",".join(out)
        raise ValueError('-113,"Undefined header"')
