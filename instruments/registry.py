"""Which driver names a station file may use, the role each plays, and how to build one.

Drivers are imported only when a station asks for them, so a lab without, say, VISA installed
can still run a bench whose analyser speaks something else.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from instruments.base import Instrument
from instruments.modbus.regmap import load_map


@dataclass(frozen=True)
class DriverInfo:
    role: str
    target: str  # "module:Class"
    address_example: str

    def load(self) -> Callable[..., Instrument]:
        module, _, cls = self.target.partition(":")
        driver: Callable[..., Instrument] = getattr(importlib.import_module(module), cls)
        return driver


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
    # issue 16: the instruments real labs own (docs/instruments.md)
    "yokogawa_wt332e": DriverInfo(
        "power_analyser",
        "instruments.power_analyser.yokogawa_wt:YokogawaWT332E",
        "TCPIP::192.168.0.20::INSTR",
    ),
    "yokogawa_wt333e": DriverInfo(
        "power_analyser",
        "instruments.power_analyser.yokogawa_wt:YokogawaWT333E",
        "TCPIP::192.168.0.20::INSTR",
    ),
    "yokogawa_wt1800e": DriverInfo(
        "power_analyser",
        "instruments.power_analyser.yokogawa_wt:YokogawaWT1800E",
        "TCPIP::192.168.0.20::INSTR",
    ),
    "yokogawa_wt5000": DriverInfo(
        "power_analyser",
        "instruments.power_analyser.yokogawa_wt:YokogawaWT5000",
        "TCPIP::192.168.0.20::INSTR",
    ),
    "hioki_pw3390": DriverInfo(
        "power_analyser",
        "instruments.power_analyser.hioki_pw3390:HiokiPW3390",
        "TCPIP::192.168.0.24::3390::SOCKET",
    ),
    "zes_lmg670": DriverInfo(
        "power_analyser",
        "instruments.power_analyser.zes_lmg670:ZesLMG670",
        "TCPIP::192.168.0.25::5025::SOCKET",
    ),
    "keysight_daq970a": DriverInfo(
        "data_logger",
        "instruments.data_logger.keysight_daq:KeysightDAQ970A",
        "TCPIP::192.168.0.26::5025::SOCKET",
    ),
    "keysight_34970a": DriverInfo(
        "data_logger",
        "instruments.data_logger.keysight_daq:Keysight34970A",
        "ASRL/dev/ttyUSB1::INSTR",
    ),
    "watlow_f4t": DriverInfo(
        "climate_chamber",
        "instruments.climate_chamber.watlow_f4t:WatlowF4T",
        "tcp://192.168.0.21:502",
    ),
    "weiss_simserv": DriverInfo(
        "climate_chamber",
        "instruments.climate_chamber.weiss_simserv:WeissSimserv",
        "TCPIP::192.168.0.21::2049::SOCKET",
    ),
    "nibe_s_series": DriverInfo(
        "heat_pump",
        "instruments.heat_pump.vendor_maps:NibeSSeries",
        "tcp://192.168.0.22:502",
    ),
    "daikin_altherma": DriverInfo(
        "heat_pump",
        "instruments.heat_pump.vendor_maps:DaikinAltherma",
        "tcp://192.168.0.22:502",
    ),
    "kamstrup_multical": DriverInfo(
        "heat_meter",
        "instruments.heat_meter.kamstrup_multical:KamstrupMultical",
        "tcp://192.168.0.27:502",
    ),
    "moxa_iologik_e1211": DriverInfo(
        "io_module",
        "instruments.io_module.modbus_outputs:ModbusDigitalOutputs",
        "tcp://192.168.0.28:502",
    ),
}


def driver_options(driver: str) -> set[str]:
    """Keyword options the driver's constructor takes beyond name and address."""
    params = inspect.signature(DRIVERS[driver].load()).parameters
    return {p for p in params if p not in ("self", "name", "address")}


def quantities(driver: str, options: Mapping[str, Any]) -> dict[str, str]:
    """What the driver declares it measures, quantity name -> its channel (the names are
    bench/channels.py's, checked there). A Modbus driver's declaration is its map's
    `[quantities]` (the map given in `options`, else the driver's default map); a
    message-based driver's is its class attribute `quantities`. Raises `RegisterMapError`
    when the map cannot be read."""
    cls = DRIVERS[driver].load()
    default_map = getattr(cls, "default_map", None)
    if default_map is not None:
        return dict(load_map(options.get("map") or default_map).quantities)
    return dict(getattr(cls, "quantities", {}))


@dataclass(frozen=True)
class Planned:
    """What a driver will read, known from its options before anything is connected."""

    channels: dict[str, str]  # channel -> unit
    groups: tuple[tuple[int, ...], ...]  # Σ groups of a multi-element power analyser


def planned(driver: str, options: Mapping[str, Any]) -> Planned:
    """The channels (and Σ groups) a driver built with `options` will have. Constructors only
    lay out their channels (no I/O), so one is built at the example address and asked; an
    option the driver refuses raises as `create` would."""
    info = DRIVERS[driver]
    inst = create(driver, driver, info.address_example, **options)
    layout = getattr(inst, "layout", None)
    groups: tuple[tuple[int, ...], ...] = getattr(layout, "groups", ())
    return Planned(inst.channels(), groups)


def create(driver: str, name: str, address: str, **options: Any) -> Instrument:
    return DRIVERS[driver].load()(name, address, **options)
