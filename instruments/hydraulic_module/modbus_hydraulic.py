"""The bench's hydraulic module: a PLC on Modbus TCP (map `hpbench_hm` by default).

It conditions the water entering the heat pump (inlet temperature, volume flow) and measures
inlet, outlet and flow with the bench's calibrated sensors - the values capacity is computed
from. The map's `[commands]` name the registers behind `set_inlet_temperature`
(`inlet_temperature`), `set_flow` (`flow`) and `set_running` (`running`).
"""

from __future__ import annotations

from typing import ClassVar

from instruments.modbus.client import ModbusMapInstrument


class ModbusHydraulicModule(ModbusMapInstrument):
    """HydraulicModule role over Modbus: (name, address, *, map, device_id, timeout_s)."""

    role: ClassVar[str] = "hydraulic_module"
    # the water loop's thermal mass: its temperatures move well under 0.5 K/s even at a
    # compressor start or a defrost reversal; a faster jump is a corrupted reply
    MAX_RATE: ClassVar[dict[str, float]] = {"inlet_temp": 0.5, "outlet_temp": 0.5}
    default_map: ClassVar[str] = "hpbench_hm"
    required_commands: ClassVar[tuple[str, ...]] = ("running", "inlet_temperature", "flow")

    async def set_inlet_temperature(self, celsius: float) -> None:
        await self._command("inlet_temperature", celsius)

    async def set_flow(self, m3_per_h: float) -> None:
        await self._command("flow", m3_per_h)

    async def set_running(self, on: bool) -> None:
        await self._switch("running", on)
