"""Any heat pump that speaks Modbus (TCP, or RTU on a serial line or through a socket).

The model is chosen by its register map (`map=`: a bundled name such as `hpbench_sim_hp` or
`stiebel_eltron_wpm`, or a path to a map file); the map's `[commands]` name the registers that
`set_running` (`running`, with its on/off values) and `set_flow_temperature`
(`flow_temperature`) write. `write(name, value)` reaches any other register the map declares
writable, range-checked before the wire.
"""

from __future__ import annotations

from typing import ClassVar

from instruments.modbus.client import ModbusMapInstrument


class ModbusHeatPump(ModbusMapInstrument):
    """HeatPump role over Modbus: ModbusHeatPump(name, address, *, map, device_id, timeout_s)."""

    role: ClassVar[str] = "heat_pump"
    default_map: ClassVar[str] = "hpbench_sim_hp"
    required_commands: ClassVar[tuple[str, ...]] = ("running", "flow_temperature")

    async def set_running(self, on: bool) -> None:
        await self._switch("running", on)

    async def set_flow_temperature(self, celsius: float) -> None:
        await self._command("flow_temperature", celsius)

    async def set_demand(self, percent: float) -> None:
        """Part-load override (0 = follow the set point), where the map has a `demand` command."""
        await self._command("demand", percent)

    async def reset_alarm(self) -> None:
        """Where the map has an `alarm_reset` command."""
        await self._switch("alarm_reset", True)
