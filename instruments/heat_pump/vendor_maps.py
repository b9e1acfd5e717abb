"""Heat pumps whose vendor map is bundled: the generic Modbus driver with that map as default.

NIBE's published map has no on/off register (docs/protocols.md §3.1), so `set_running` is
refused with the reason rather than written somewhere it does not mean "run".
"""

from __future__ import annotations

from typing import ClassVar

from instruments.base import WriteRefused
from instruments.heat_pump.modbus_heat_pump import ModbusHeatPump


class NibeSSeries(ModbusHeatPump):
    default_map: ClassVar[str] = "nibe_s_series"
    required_commands: ClassVar[tuple[str, ...]] = ("flow_temperature",)

    async def set_running(self, on: bool) -> None:
        if "running" in self.regmap.commands:
            await self._switch("running", on)
            return
        raise WriteRefused(
            "NIBE's Modbus map has no on/off register: start and stop the unit through its "
            "external (EVU / SG Ready) input, or give a map with a `running` command",
            instrument=self.name,
            address=self.address,
        )


class DaikinAltherma(ModbusHeatPump):
    default_map: ClassVar[str] = "daikin_altherma_ekrhh"
