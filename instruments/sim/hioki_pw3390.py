"""Simulated HIOKI PW3390: the commands the driver sends (see its docstring for their status).

Compound lines (`;`) are answered `;`-joined; an unknown header sets the command-error bit
(32) that *ESR? reports and clears. The input is a balanced three-phase load when the items
name a Σ group, else one element carries it. The OVER_RANGE fault reads +9999.9E+99.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from instruments.power_analyser.hioki_pw3390 import VOLTAGE_RANGES
from instruments.sim.line_server import over_range, phase_values, range_for
from instruments.sim.model import BenchModel

CURRENT_RANGES = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)  # a 50 A clamp sensor (simulator's choice)
_WORDS = {"VOLTAGE": "VOLT", "CURRENT": "CURR", "RANGE": "RANG", "MEASURE": "MEAS",
          "INTEGRATE": "INTEG", "HEADER": "HEAD", "START": "STAR", "RESET": "RES"}  # fmt: skip


def _norm(header: str) -> str:
    words = []
    for w in header.upper().lstrip(":").split(":"):
        m = re.fullmatch(r"([A-Z*]+)(\d*)(\??)", w)
        words.append(w if m is None else _WORDS.get(m[1], m[1]) + m[2] + m[3])
    return ":".join(words)


@dataclass
class HiokiSim:
    model: BenchModel
    esr: int = 0
    ranges: dict[str, float | None] = field(default_factory=dict)  # "VOLT1" -> None (auto)
    integ: str = "RES"
    integ_wh: float = 0.0
    _from: float | None = None

    def handle(self, line: str) -> str | None:
        replies = []
        for part in line.split(";"):
            text = part.strip()
            if not text:
                continue
            header, _, arg = text.partition(" ")
            try:
                reply = self._execute(_norm(header), arg.strip())
            except ValueError:
                self.esr |= 32
                reply = None
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def _execute(self, h: str, arg: str) -> str | None:
        if h == "*IDN?":
            return "HIOKI,PW3390,190412345,V2.01"
        if h == "*ESR?":
            value, self.esr = self.esr, 0
            return str(value)
        if h in ("*CLS", "HEAD"):
            self.esr = 0 if h == "*CLS" else self.esr
            return None
        m = re.fullmatch(r"(VOLT|CURR)([1-4]):(AUTO|RANG)(\??)", h)
        if m:
            key = m.group(1) + m.group(2)
            if m.group(4):
                return f"{self._range(key):g}"
            if m.group(3) == "AUTO":
                self.ranges[key] = None
            else:
                allowed = VOLTAGE_RANGES if m.group(1) == "VOLT" else CURRENT_RANGES
                if float(arg) not in allowed:
                    raise ValueError(arg)
                self.ranges[key] = float(arg)
            return None
        if h == "MEAS?":
            self.model.advance()
            items = [t.strip().upper() for t in arg.split(",")]
            phases = 3 if any(len(re.sub(r"\D", "", t)) > 1 for t in items) else 1
            return ",".join(self._item(t, phases) for t in items)
        if h in ("INTEG:STAR", "INTEG:STOP", "INTEG:RES"):
            self._integrate(h.split(":")[1])
            return None
        raise ValueError(h)

    def _range(self, key: str) -> float:
        fixed = self.ranges.get(key)
        if fixed is not None:
            return fixed
        ph = phase_values(self.model.electrical, 3)
        volt = key.startswith("VOLT")
        return range_for(ph.u if volt else ph.i, VOLTAGE_RANGES if volt else CURRENT_RANGES)

    def _integrate(self, what: str) -> None:
        energy = self.model.electrical.energy_wh
        if what == "STAR" and self.integ != "STAR":
            self.integ, self._from = "STAR", energy
        elif what == "STOP" and self.integ == "STAR":
            self.integ_wh += energy - (self._from or energy)
            self.integ = "STOP"
        elif what == "RES" and self.integ != "STAR":
            self.integ, self.integ_wh = "RES", 0.0
        else:
            raise ValueError(what)

    def _item(self, token: str, phases: int) -> str:
        m = re.fullmatch(r"(U|I|P|S|Q|PF|FREQ|WP)([1-4]+)", token)
        if m is None:
            raise ValueError(token)
        if over_range(self.model):
            return "+9999.9E+99"
        ph = phase_values(self.model.electrical, phases)
        n = len(m.group(2))
        wh = self.integ_wh
        if self.integ == "STAR" and self._from is not None:
            wh += self.model.electrical.energy_wh - self._from
        value = {
            "U": ph.u, "I": ph.i, "P": ph.p * n, "S": ph.s * n, "Q": ph.q * n, "PF": ph.pf,
            "FREQ": ph.f, "WP": wh / phases * n,
        }[m.group(1)]  # fmt: skip
        return f"{value:+.5E}"
