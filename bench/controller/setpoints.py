"""What an operator may set by hand, read from the drivers' declarations and the station.

The set points' ranges come from each driver (a Modbus map's register limits), narrowed by the
station's `[limits]`; the screens show and check them, and never read a driver's map
themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from bench.run.frame import channel_id
from bench.run.points import AIR_RH, AIR_T, WATER_FLOW, WATER_IN, WATER_OUT
from bench.station import BenchLimits, StationError
from instruments.base import Instrument
from instruments.modbus.regmap import RegisterMap

CHAMBER_TEMPERATURE_C = (-40.0, 60.0)  # the ESPEC driver does not report its chamber's range
CHAMBER_HUMIDITY_PCT = (0.0, 100.0)  # what the chamber driver accepts
# a manual set point's key -> the station's [limits] field that narrows it
STATION_LIMIT = {
    "air_temperature": "air_temperature_c",
    "air_humidity": "air_humidity_pct",
    "water_inlet": "water_inlet_c",
    "water_flow": "water_flow_m3h",
    "hp_flow_temperature": "hp_flow_temperature_c",
    "hp_demand": "hp_demand_pct",
}


@dataclass(frozen=True)
class Limit:
    low: float
    high: float
    unit: str

    def __contains__(self, value: object) -> bool:
        return isinstance(value, float | int) and self.low <= value <= self.high


def setpoint_limits(
    instruments: Mapping[str, Instrument], station: BenchLimits | None = None
) -> dict[str, Limit]:
    """What a manual set point may be: each driver's own declared range, narrowed by the
    station's `[limits]`. Raises StationError when a station range is outside the driver's."""
    limits = _driver_limits(instruments)
    for key, field_name in STATION_LIMIT.items():
        declared = getattr(station, field_name, None) if station is not None else None
        if declared is None or key not in limits:
            continue
        own = limits[key]
        low, high = max(own.low, declared[0]), min(own.high, declared[1])
        if low >= high:
            raise StationError(
                f"limits.{field_name}: [{declared[0]:g}, {declared[1]:g}] is outside what the "
                f"driver accepts, {own.low:g}…{own.high:g} {own.unit}"
            )
        limits[key] = Limit(low, high, own.unit)
    return limits


def _driver_limits(instruments: Mapping[str, Instrument]) -> dict[str, Limit]:
    limits: dict[str, Limit] = {}
    if "climate_chamber" in instruments:
        limits["air_temperature"] = Limit(*CHAMBER_TEMPERATURE_C, "°C")
        limits["air_humidity"] = Limit(*CHAMBER_HUMIDITY_PCT, "%RH")
    wanted = {  # the map's command -> the set point's key
        "hydraulic_module": {"inlet_temperature": "water_inlet", "flow": "water_flow"},
        "heat_pump": {"flow_temperature": "hp_flow_temperature", "demand": "hp_demand"},
    }
    for role, commands in wanted.items():
        regmap: RegisterMap | None = getattr(instruments.get(role), "regmap", None)
        if regmap is None:
            continue
        for command, key in commands.items():
            cmd = regmap.commands.get(command)
            register = regmap.get(cmd.channel) if cmd is not None else None
            if register is not None and register.min is not None and register.max is not None:
                limits[key] = Limit(register.min, register.max, register.unit)
    return limits


class SetpointPair(NamedTuple):
    key: str  # as in `setpoint_limits`
    label: str
    setpoint: str  # channel holding what the device is set to
    measured: str | None  # channel measuring it (the bench's own sensors where it has them)


Commands = Mapping[str, str] | None  # role -> the instrument commanding it; None: named as roles


def command_channel(
    instruments: Mapping[str, Instrument], role: str, command: str, commands: Commands = None
) -> str | None:
    """The channel a Modbus driver's map writes for one of its commands."""
    name = (commands or {}).get(role, role)
    regmap = getattr(instruments.get(name), "regmap", None)
    cmd = regmap.commands.get(command) if regmap is not None else None
    return channel_id(name, cmd.channel) if cmd is not None else None


def setpoint_pairs(
    instruments: Mapping[str, Instrument], commands: Commands = None
) -> list[SetpointPair]:
    """What an operator sets by hand, each beside what measures it. The heat pump's flow
    temperature is measured by the bench's own outlet sensor."""
    pairs = []
    chamber = (commands or {}).get("climate_chamber", "climate_chamber")
    if chamber in instruments:
        pairs += [
            SetpointPair("air_temperature", "air", f"{chamber}.temperature_sp", AIR_T),
            SetpointPair("air_humidity", "humidity", f"{chamber}.humidity_sp", AIR_RH),
        ]
    wanted = [
        ("water_inlet", "water inlet", "hydraulic_module", "inlet_temperature", WATER_IN),
        ("water_flow", "water flow", "hydraulic_module", "flow", WATER_FLOW),
        ("hp_flow_temperature", "HP flow temp", "heat_pump", "flow_temperature", WATER_OUT),
        ("hp_demand", "HP demand", "heat_pump", "demand", None),
    ]
    for key, label, role, command, measured in wanted:
        channel = command_channel(instruments, role, command, commands)
        if channel is not None:
            pairs.append(SetpointPair(key, label, channel, measured))
    return pairs
