"""Watlow F4T (a chamber's or a psychrometric room's controller) over Modbus, map `watlow_f4t`.

Loop 1 holds the air temperature, loop 2 the humidity (RH, or dew point where the room's loop
is configured so: `humidity_by`). The map's `[commands]` name the set-point and control-mode
registers; floats travel low word first (docs/protocols.md §2.3).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from instruments.base import Reading, WriteRefused
from instruments.climate_chamber.humidity import checked_mode, dew_point_c, rh_from_dew_point
from instruments.modbus.client import ModbusMapInstrument
from instruments.modbus.regmap import RegisterMap


class WatlowF4T(ModbusMapInstrument):
    """climate_chamber role: (name, address, *, map, device_id, humidity_by, pressure_pa)."""

    role: ClassVar[str] = "climate_chamber"
    default_map: ClassVar[str] = "watlow_f4t"
    required_commands: ClassVar[tuple[str, ...]] = (
        "temperature",
        "humidity",
        "running",
        "humidity_control",
    )

    def __init__(
        self,
        name: str,
        address: str,
        *,
        map: str | Path | RegisterMap | None = None,
        device_id: int = 1,
        timeout_s: float = 2.0,
        humidity_by: str = "rh",
        pressure_pa: float = 101325.0,
    ) -> None:
        super().__init__(name, address, map=map, device_id=device_id, timeout_s=timeout_s)
        self.humidity_by = checked_mode(humidity_by, "F4T")
        self.pressure_pa = pressure_pa
        self._off_mode = "standby"

    def channels(self) -> dict[str, str]:
        found = super().channels()
        if self.humidity_by == "rh":
            return found
        h = self.regmap.commands["humidity"].channel
        renamed = {("dew_point_sp" if k == h else k): v for k, v in found.items()}
        return renamed | {"dew_point": "°C", "humidity": "%RH", "dew_point_sp": "°C"}

    async def read(self) -> dict[str, Reading]:
        readings = await super().read()
        if self.humidity_by == "rh":
            return readings
        sp = self.regmap.commands["humidity"].channel
        dew = readings.pop("humidity")
        dew = Reading(dew.value, "°C", dew.quality, dew.detail)
        readings["dew_point"] = dew
        readings["dew_point_sp"] = readings.pop(sp)
        readings["humidity"] = rh_from_dew_point(readings["temperature"], dew, self.pressure_pa)
        return readings

    async def set_air(self, temperature_c: float, humidity_pct: float | None) -> None:
        await self._command("temperature", temperature_c)
        if humidity_pct is None:
            await self._switch("humidity_control", False)
            return
        value = humidity_pct
        if self.humidity_by == "dew_point":
            value = round(dew_point_c(temperature_c, humidity_pct, self.pressure_pa), 2)
        await self._command("humidity", value)
        await self._switch("humidity_control", True)

    async def set_mode(self, mode: str) -> None:
        if mode not in ("constant", "standby", "off"):
            raise WriteRefused(
                f"mode {mode!r}: constant, standby or off", instrument=self.name,
                address=self.address,
            )  # fmt: skip
        await self._switch("running", mode == "constant")
        self._off_mode = mode if mode != "constant" else self._off_mode

    async def read_mode(self) -> str:
        """The mode loop 1 is in, read back (the safe state's confirmation and the chamber
        permissive): "constant" when in auto, else the off mode last asked for - the F4T
        has one "off" for both standby and off."""
        held = (await self.read_command("running")).value
        return "constant" if held == self.command_value("running", True) else self._off_mode
