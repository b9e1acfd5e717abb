"""Weiss Technik / Vötsch chambers with an S!MPAC controller, over its "simserv" ASCII protocol.

TCP port 2049; a request is `<command>¶<chamber>¶<arg>…` ended by CR, fields separated by
0xB6 (¶); the reply is ¶-separated, ended by CR LF, and its first field is `1` on success
(docs/protocols.md §2.4; error codes -5 unknown command, -6 wrong parameters, -8 data could
not be read, after IzaakWN/ClimateChamberMonitor). Control variable 1 is the temperature,
2 the humidity (RH, or dew point on rooms configured that way: `humidity_by`).

The address is a VISA socket resource, e.g. `TCPIP::192.168.0.30::2049::SOCKET`.
`set_air(t, None)` leaves the humidity set point as it is: simserv has no documented
"humidity control off" command (switch it off on the controller for dry points).
"""

from __future__ import annotations

from typing import ClassVar

from instruments.base import Identity, InstrumentError, ProtocolError, Reading, WriteRefused
from instruments.climate_chamber.humidity import checked_mode, dew_point_c, rh_from_dew_point
from instruments.transport.scpi import ScpiInstrument, decode_number
from instruments.transport.session import LineSession

SEP = "\xb6"
GET_SETPOINT, GET_VALUE, SET_SETPOINT = 11002, 11004, 11001
GET_STATUS, GET_INFO, MANUAL_MODE = 10012, 99997, 14001
REPLY_CODES = {
    "-5": "command number unknown",
    "-6": "too few or incorrect parameters",
    "-8": "data could not be read",
}


class WeissSimserv(ScpiInstrument):
    """climate_chamber role: (name, address, *, chamber=1, humidity_by="rh", pressure_pa)."""

    role: ClassVar[str] = "climate_chamber"
    quantities: ClassVar[dict[str, str]] = {
        "air.dry_bulb_c": "temperature",
        "air.rh_pct": "humidity",
        "air.dry_bulb_sp_c": "temperature_sp",
        "air.rh_sp_pct": "humidity_sp",
    }
    read_termination: ClassVar[str] = "\r\n"
    write_termination: ClassVar[str] = "\r"
    encoding: ClassVar[str] = "latin-1"

    def __init__(
        self,
        name: str,
        address: str,
        *,
        chamber: int = 1,
        humidity_by: str = "rh",
        pressure_pa: float = 101325.0,
        timeout_s: float = 2.0,
        visa_library: str = "@py",
    ) -> None:
        super().__init__(name, address, timeout_s=timeout_s, visa_library=visa_library)
        self.chamber = chamber
        self.humidity_by = checked_mode(humidity_by, "simserv")
        self.pressure_pa = pressure_pa

    def channels(self) -> dict[str, str]:
        found = {"temperature": "°C", "temperature_sp": "°C", "humidity": "%RH"}
        if self.humidity_by == "dew_point":
            found |= {"dew_point": "°C", "dew_point_sp": "°C"}
        else:
            found["humidity_sp"] = "%RH"
        return found | {"running": "", "alarms": ""}

    def _setup(self, s: LineSession) -> None:
        self.ask(s, GET_INFO)  # proves a simserv answers; nothing to configure

    def ask(self, s: LineSession, command: int, *args: object, refused: bool = False) -> list[str]:
        request = SEP.join(str(p) for p in (command, self.chamber, *args))
        reply = s.query(request)
        fields = reply.split(SEP)
        if fields[0] != "1":
            meaning = REPLY_CODES.get(fields[0], "unknown reply")
            kind: type[InstrumentError] = WriteRefused if refused else ProtocolError
            raise s.error(kind, f"{request!r} answered {reply!r} ({meaning})")
        return fields[1:]

    def _number(self, s: LineSession, command: int, variable: int, unit: str) -> Reading:
        fields = self.ask(s, command, variable)
        if len(fields) != 1:
            raise s.error(ProtocolError, f"{command}: expected one value, got {fields!r}")
        try:
            return decode_number(fields[0], unit)
        except ValueError as exc:
            raise s.error(ProtocolError, f"{command}: {exc}") from None

    async def identify(self) -> Identity:
        def exchange(s: LineSession) -> Identity:
            info = self.ask(s, GET_INFO)
            return Identity("Weiss Technik", " ".join(info).strip() or "S!MPAC", "", "")

        return await self.session.call(exchange)

    def exchange_read(self, s: LineSession) -> dict[str, Reading]:
        h_unit = "°C" if self.humidity_by == "dew_point" else "%RH"
        t = self._number(s, GET_VALUE, 1, "°C")
        t_sp = self._number(s, GET_SETPOINT, 1, "°C")
        h = self._number(s, GET_VALUE, 2, h_unit)
        h_sp = self._number(s, GET_SETPOINT, 2, h_unit)
        status = self.ask(s, GET_STATUS)
        if len(status) != 1 or not status[0].isdigit():
            raise s.error(ProtocolError, f"{GET_STATUS}: status {status!r}")
        bits = int(status[0])
        found = {"temperature": t, "temperature_sp": t_sp}
        if self.humidity_by == "dew_point":
            found |= {
                "humidity": rh_from_dew_point(t, h, self.pressure_pa),
                "dew_point": h,
                "dew_point_sp": h_sp,
            }
        else:
            found |= {"humidity": h, "humidity_sp": h_sp}
        # status: 1 test not running, 3 running; +4 warnings, +8 alarms (§2.4 sources)
        found["running"] = Reading.ok(float(bits & 3 == 3), "")
        found["alarms"] = Reading.ok(float(bool(bits & 8)), "")
        return found

    async def set_air(self, temperature_c: float, humidity_pct: float | None) -> None:
        settings: list[tuple[int, float]] = [(1, temperature_c)]
        if humidity_pct is not None:
            value = humidity_pct
            if self.humidity_by == "dew_point":
                value = round(dew_point_c(temperature_c, humidity_pct, self.pressure_pa), 2)
            settings.append((2, value))

        def exchange(s: LineSession) -> None:
            for variable, value in settings:
                self.ask(s, SET_SETPOINT, variable, f"{value:g}", refused=True)

        await self.session.call(exchange)

    async def set_mode(self, mode: str) -> None:
        if mode not in ("constant", "standby", "off"):
            raise self.session.error(WriteRefused, f"mode {mode!r}: constant, standby or off")
        on = 1 if mode == "constant" else 0
        await self.session.call(lambda s: self.ask(s, MANUAL_MODE, 1, on, refused=True))
