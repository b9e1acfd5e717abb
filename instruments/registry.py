"""Which driver names a station file may use, the role each plays, and how to build one.

Drivers are imported only when a station asks for them, so a lab without, say, VISA installed
can still run a bench whose analyser speaks something else.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from instruments.base import Instrument


@dataclass(frozen=True)
class DriverInfo:
    role: str
    target: str  # "module:Class"
    address_example: str

    def load(self) -> type:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)


DRIVERS: dict[str, DriverInfo] = {
    "yokogawa_wt300": DriverInfo(
        "power_analyser",
        "instruments.power_analyser.yokogawa_wt300:YokogawaWT300",
        "TCPIP::192.168.0.20::10001::SOCKET",
    ),
    "espec": DriverInfo(
        "climate_chamber",
        "instruments.climate_chamber.espec:EspecChamber",
        "/dev/ttyUSB0 or socket://192.168.0.21:10001",
    ),
    "modbus_heat_pump": DriverInfo(
        "heat_pump",
        "instruments.heat_pump.modbus_heat_pump:ModbusHeatPump",
        "tcp://192.168.0.22:502",
    ),
    "modbus_hydraulic": DriverInfo(
        "hydraulic_module",
        "instruments.hydraulic_module.modbus_hydraulic:ModbusHydraulicModule",
        "tcp://192.168.0.23:502",
    ),
}


def driver_options(driver: str) -> set[str]:
    """Keyword options the driver's constructor takes beyond name and address."""
    params = inspect.signature(DRIVERS[driver].load()).parameters
    return {p for p in params if p not in ("self", "name", "address")}


def create(driver: str, name: str, address: str, **options: Any) -> Instrument:
    return DRIVERS[driver].load()(name, address, **options)
