"""Simulated S!MPAC simserv: the command numbers the driver uses (docs/protocols.md §2.4).

Requests end with CR, replies with CR LF; fields are separated by 0xB6. Control variable 1 is
the chamber temperature, 2 the humidity: %RH, or the dew point when `dew_point=True` (a room
configured that way). Manual mode on/off (14001) sets the bench model's chamber CONSTANT or
STANDBY. Unknown command numbers answer -5, a wrong argument count or index -6, a set point
outside the chamber's limits -6 too (the controller refuses it). With `unreadable` set, reads of
actual values answer -8 ("data could not be read").
"""

from __future__ import annotations

from dataclasses import dataclass

from instruments.climate_chamber.humidity import dew_point_c, rh_pct
from instruments.sim.model import BenchModel

SEP = "\xb6"


@dataclass
class SimservSim:
    model: BenchModel
    dew_point: bool = False
    info: str = "S!MPAC simserv (simulated)"
    unreadable: bool = False

    def handle(self, line: str) -> str | None:
        fields = line.strip("\r\n").split(SEP)
        if not fields[0].isdigit():
            return "-5"
        command, args = int(fields[0]), fields[1:]
        if not args or args[0] != "1":
            return "-6"  # one chamber, index 1
        args = args[1:]
        self.model.advance()
        c = self.model.chamber
        if command == 99997:
            return f"1{SEP}{self.info}"
        if command == 10012:
            return f"1{SEP}{3 if c.mode == 'CONSTANT' else 1}"
        if command == 14001:
            if len(args) != 2 or args[0] != "1" or args[1] not in ("0", "1"):
                return "-6"
            c.mode = "CONSTANT" if args[1] == "1" else "STANDBY"
            return "1"
        if command in (11002, 11004, 11001):
            if not args or args[0] not in ("1", "2"):
                return "-6"
            variable = int(args[0])
            if command == 11001:
                return self._set(variable, args[1:])
            if len(args) != 1:
                return "-6"
            if command == 11004 and self.unreadable:
                return "-8"
            return f"1{SEP}{self._value(variable, command == 11002):.2f}"
        return "-5"

    def _value(self, variable: int, setpoint: bool) -> float:
        c = self.model.chamber
        if variable == 1:
            return c.temp_sp if setpoint else c.temp_meas
        rh = (c.humi_sp or 0.0) if setpoint else c.humi_meas
        if not self.dew_point:
            return rh
        return dew_point_c(c.temp_sp if setpoint else c.temp_meas, max(rh, 1.0))

    def _set(self, variable: int, args: list[str]) -> str:
        c = self.model.chamber
        try:
            value = float(args[0]) if len(args) == 1 else None
        except ValueError:
            value = None
        if value is None:
            return "-6"
        if variable == 1:
            lo, hi = c.temp_limits
            if not lo <= value <= hi:
                return "-6"
            c.temp_sp = value
            return "1"
        rh = rh_pct(c.temp_sp, value) if self.dew_point else value
        lo, hi = c.humi_limits
        if not lo <= rh <= hi:
            return "-6"
        c.humi_sp = rh
        return "1"
