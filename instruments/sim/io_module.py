"""The simulated digital-output module (map `moxa_iologik_e1211`) on the generic map simulator.

Its outputs are plain memory: every output reads off until a client writes it, then what was
written, so a read-back confirms a write exactly as on the module. Nothing on the simulated
bench is wired to them: the simulated heat pump ignores SG-Ready (its contacts change nothing
in the physics model).
"""

from __future__ import annotations

from typing import ClassVar

from instruments.sim.modbus_servers import ModbusDeviceSim


class DigitalOutputSim(ModbusDeviceSim):
    role: ClassVar[str] = "io_module"
    default_map: ClassVar[str] = "moxa_iologik_e1211"
