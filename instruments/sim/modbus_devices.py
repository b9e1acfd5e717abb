"""Simulators for the Modbus devices with bundled vendor maps, on the generic map simulator.

Each is a `ModbusDeviceSim` (instruments/sim/modbus_servers.py, used read-only here) with
the bindings that tie its map's channels to the bench model: the Watlow F4T chamber, the
NIBE S-series and Daikin Altherma heat pumps, and the Kamstrup MULTICAL heat meter. Channels
without a binding are plain memory, as on the existing simulators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from instruments.climate_chamber.humidity import dew_point_c, rh_pct
from instruments.sim.modbus_servers import HEAT_PUMP_BINDINGS, Binding, ModbusDeviceSim
from instruments.sim.model import BenchModel

_MODE_AUTO, _MODE_OFF = 10.0, 62.0


def _set_chamber_mode(model: BenchModel, value: float) -> None:
    model.chamber.mode = "CONSTANT" if value != _MODE_OFF else "STANDBY"


def _set_humidity_mode(model: BenchModel, value: float) -> None:
    if value == _MODE_OFF:
        model.chamber.humi_sp = None
    elif model.chamber.humi_sp is None:
        model.chamber.humi_sp = model.chamber.humi_pv


def _set_humidity_sp(model: BenchModel, value: float) -> None:
    model.chamber.humi_sp = value


def _set_temp_sp(model: BenchModel, value: float) -> None:
    model.chamber.temp_sp = value


def _set_flow_sp(model: BenchModel, value: float) -> None:
    model.heat_pump.flow_temp_sp = value


F4T_BINDINGS: Mapping[str, Binding] = {
    "temperature": Binding(lambda m: m.chamber.temp_meas),
    "temperature_sp": Binding(lambda m: m.chamber.temp_sp, _set_temp_sp),
    "temperature_sp_active": Binding(lambda m: m.chamber.temp_sp),
    "temperature_mode": Binding(
        lambda m: _MODE_AUTO if m.chamber.mode == "CONSTANT" else _MODE_OFF, _set_chamber_mode
    ),
    "humidity": Binding(lambda m: m.chamber.humi_meas),
    "humidity_sp": Binding(lambda m: m.chamber.humi_sp, _set_humidity_sp),
    "humidity_mode": Binding(
        lambda m: _MODE_OFF if m.chamber.humi_sp is None else _MODE_AUTO, _set_humidity_mode
    ),
}

NIBE_BINDINGS: Mapping[str, Binding] = {
    # not Stiebel's `operating_mode` (NIBE's has other values: plain memory here)
    **{k: b for k, b in HEAT_PUMP_BINDINGS.items() if k != "operating_mode"},
    "condenser_temp": Binding(lambda m: m.heat_pump.own_supply_c + 1.5),
    "calculated_supply_s1": Binding(lambda m: m.heat_pump.flow_temp_sp),
    "priority": Binding(lambda m: 30.0 if m.heat_pump.compressor_hz > 0 else 10.0),
    "requested_compressor_freq": Binding(lambda m: round(m.heat_pump.compressor_hz)),
    "inverter_alarm": Binding(lambda m: 0.0),
    "min_supply_s1": Binding(lambda m: m.heat_pump.flow_temp_sp, _set_flow_sp),
}

DAIKIN_BINDINGS: Mapping[str, Binding] = {
    **HEAT_PUMP_BINDINGS,
    "circulation_pump": Binding(lambda m: float(m.hydraulic.running)),
    "power_consumption": Binding(lambda m: m.electrical.power_w / 1000.0),
}

KAMSTRUP_BINDINGS: Mapping[str, Binding] = {
    "flow_v1": Binding(lambda m: m.hydraulic.flow_meas_m3h * 1000.0),
    "power": Binding(lambda m: m.heat_pump.capacity_w / 1000.0),
    "t1_supply": Binding(lambda m: m.hydraulic.outlet_meas_c),
    "t2_return": Binding(lambda m: m.hydraulic.inlet_meas_c),
}


def _dew_point_sp(m: BenchModel) -> float | None:
    sp = m.chamber.humi_sp
    return None if sp is None else dew_point_c(m.chamber.temp_sp, sp)


def _set_dew_point_sp(m: BenchModel, value: float) -> None:
    m.chamber.humi_sp = rh_pct(m.chamber.temp_sp, value)


F4T_DEW_POINT_BINDINGS: Mapping[str, Binding] = {
    **F4T_BINDINGS,
    "humidity": Binding(lambda m: dew_point_c(m.chamber.temp_meas, max(m.chamber.humi_meas, 1.0))),
    "humidity_sp": Binding(_dew_point_sp, _set_dew_point_sp),
}


class WatlowF4TSim(ModbusDeviceSim):
    """`dew_point=True`: loop 2 is a dew-point loop (°C), as on some psychrometric rooms."""

    role: ClassVar[str] = "climate_chamber"
    default_map: ClassVar[str] = "watlow_f4t"
    bindings: Mapping[str, Binding] = F4T_BINDINGS

    def __init__(self, model: BenchModel, *, dew_point: bool = False, **kw: Any) -> None:
        super().__init__(model, **kw)
        if dew_point:
            self.bindings = F4T_DEW_POINT_BINDINGS


class NibeSim(ModbusDeviceSim):
    role: ClassVar[str] = "heat_pump"
    default_map: ClassVar[str] = "nibe_s_series"
    bindings: Mapping[str, Binding] = NIBE_BINDINGS

    def __init__(self, model: BenchModel, **kw: Any) -> None:
        super().__init__(model, **kw)
        # settings a unit always holds (read as "not available" otherwise): the map's default
        # curve 9, no offset, and a maximum supply temperature above every rating point
        self._store.update(heating_curve_s1=9.0, heating_offset_s1=0.0, max_supply_s1=65.0)
        self._store.update(operating_mode=0.0)


class DaikinSim(ModbusDeviceSim):
    role: ClassVar[str] = "heat_pump"
    default_map: ClassVar[str] = "daikin_altherma_ekrhh"
    bindings: Mapping[str, Binding] = DAIKIN_BINDINGS


class KamstrupSim(ModbusDeviceSim):
    role: ClassVar[str] = "heat_meter"
    default_map: ClassVar[str] = "kamstrup_multical"
    bindings: Mapping[str, Binding] = KAMSTRUP_BINDINGS
