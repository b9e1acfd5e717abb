"""One physics model of the whole bench, which all four simulated instruments read and steer.

The protocol servers only read and write the state dataclasses below; `advance()` integrates the
physics up to the clock's bench time, lazily, whenever a server is asked something. Every lag is
integrated exactly (x += (target - x) * (1 - exp(-dt / tau))), so a step of any length is stable
and a time-warped run costs little.

Modelling choices that are the simulator's own (not from a source), kept plain on purpose:
time constants, the inverter's part-load gain `PART_LOAD_COP_GAIN`, the minimum modulation,
the defrost frost model and the sensor offsets. The unit's full-load capacity and power come
from a published map (`perfmap.py`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache

from CoolProp.CoolProp import PropsSI

from instruments.clock import Clock
from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.owncontrol import BENCH, OWN_CURVE, OwnControl, curve_flow_c, track_inlet
from instruments.sim.perfmap import PerformanceMap

AMBIENT_C = 20.0
MAX_STEP_S = 1.0
CHAMBER_TAU_S = 180.0
CHAMBER_RAMP_K_PER_S = 1.0 / 60.0  # 1 K/min, a typical psychrometric-room ramp limit
HUMIDITY_TAU_S = 240.0
WATER_INLET_TAU_S = 120.0
FLOW_TAU_S = 10.0
CONDENSER_TAU_S = 30.0  # water-loop inertia between capacity and outlet temperature
COMPRESSOR_TAU_S = 60.0
MIN_MODULATION = 0.25  # inverter floor as a share of maximum capacity
PART_LOAD_COP_GAIN = 0.35  # COP rises by this share of (1 - part load) at part load
MIN_FLOW_M3H = 0.3  # below this the unit's flow switch stops the compressor
STANDBY_POWER_W = 12.0
INDOOR_UNIT_W = 40.0  # the indoor unit's controls + circulator, its own supply (feeds.py)
DEFROST_S = 300.0
FROST_CAPACITY_G_MIN_PER_KG = 148.0  # 40 min between defrosts at A2 (3.7 g/kg), 90 at A-7
FROST_BELOW_C = 6.0
PIPE_PRESSURE_PA = 3.0e5
MAINS_V = 230.0
MAINS_HZ = 50.0


@lru_cache(maxsize=4096)
def _water(prop: str, centi_celsius: int) -> float:
    kelvin = centi_celsius / 100.0 + 273.15
    return PropsSI(prop, "T", kelvin, "P", PIPE_PRESSURE_PA, "IF97::Water")


def water_density(celsius: float) -> float:
    """kg/m3 (IAPWS-IF97 at 3 bar), cached to 0.01 K: the simulator asks it every step."""
    return _water("D", round(celsius * 100))


def water_cp(celsius: float) -> float:
    """J/(kg K) (IAPWS-IF97 at 3 bar), cached to 0.01 K."""
    return _water("C", round(celsius * 100))


def humidity_ratio_g_per_kg(celsius: float, rh_pct: float, pressure_pa: float = 101325.0) -> float:
    """Magnus formula (Alduchov & Eskridge 1996) - good enough to pace frost in a simulator."""
    if celsius >= 0:
        es = 610.94 * math.exp(17.625 * celsius / (celsius + 243.04))
    else:
        es = 611.21 * math.exp(22.587 * celsius / (celsius + 273.86))
    e = es * max(0.0, min(rh_pct, 100.0)) / 100.0
    return 622.0 * e / (pressure_pa - e)


def power_factor(power_w: float) -> float:
    """A load's power factor: an inverter drive with PFC when loaded, electronics when idle."""
    return 0.98 if power_w > 100 else 0.45


def _lag(x: float, target: float, dt: float, tau: float) -> float:
    return x + (target - x) * (1.0 - math.exp(-dt / tau))


@dataclass
class ChamberState:
    mode: str = "STANDBY"  # OFF | STANDBY | CONSTANT
    temp_sp: float = AMBIENT_C
    humi_sp: float | None = 50.0  # None: humidity control off
    temp_pv: float = AMBIENT_C
    humi_pv: float = 50.0
    temp_limits: tuple[float, float] = (-40.0, 60.0)  # (min, max) the chamber accepts
    humi_limits: tuple[float, float] = (10.0, 98.0)
    stuck_offset_k: float = 0.0  # > 0 while the chamber lacks capacity
    temp_meas: float = AMBIENT_C  # what the chamber's own sensors read (with noise)
    humi_meas: float = 50.0


@dataclass
class HeatPumpState:
    running: bool = False  # commanded on
    mode: int = 1  # 1 heating
    flow_temp_sp: float = 35.0
    demand_pct: float | None = None  # fixed share of maximum capacity; None: follow set point
    alarm_code: int = 0
    alarm_latched: bool = False  # only the alarm-reset register clears it
    defrost: bool = False
    capacity_w: float = 0.0  # true heat delivered to the water (negative while defrosting)
    power_w: float = STANDBY_POWER_W  # true electrical input
    compressor_hz: float = 0.0
    frost: float = 0.0  # 0..1, defrost at 1
    defrost_left_s: float = 0.0
    defrost_count: int = 0
    # the unit's own sensors: offset from the bench's calibrated ones, as on a real unit
    own_outdoor_c: float = AMBIENT_C
    own_supply_c: float = AMBIENT_C
    own_return_c: float = AMBIENT_C
    own_flow_lpm: float = 0.0
    own_heat_w: float = 0.0
    # own controls (load-based points): BENCH follows the bench's set point or demand
    control_mode: int = BENCH
    heating_curve: int = 2  # owncontrol.CURVES_C: 1 low, 2 medium temperature
    own: OwnControl = field(default_factory=OwnControl)


@dataclass
class HydraulicState:
    running: bool = True  # bench circulation pump
    inlet_sp: float = 30.0
    flow_sp_m3h: float = 1.6
    inlet_c: float = AMBIENT_C  # water into the heat pump (bench-conditioned return)
    outlet_c: float = AMBIENT_C  # water out of the heat pump
    flow_m3h: float = 1.6  # the bench's pump runs from power-on
    # what the bench's calibrated sensors read: truth plus noise, refreshed each advance
    inlet_meas_c: float = AMBIENT_C
    outlet_meas_c: float = AMBIENT_C
    flow_meas_m3h: float = 1.6
    barometric_pa: float = 101325.0  # the bench's barometer (the simulated room's pressure)
    tracking: bool = False  # inlet follows inlet_sp fast (load-based emulation), not slowly


@dataclass
class ElectricalState:
    voltage_v: float = MAINS_V
    current_a: float = 0.0
    power_w: float = STANDBY_POWER_W
    apparent_va: float = 0.0
    reactive_var: float = 0.0
    power_factor: float = 0.45
    frequency_hz: float = MAINS_HZ
    energy_wh: float = 0.0  # since the model started; the analyser integrates differences
    power_meas_w: float = STANDBY_POWER_W  # active power as the analyser measures it
    indoor_w: float = STANDBY_POWER_W  # the indoor unit's share of power_w (feeds.py)
    indoor_energy_wh: float = 0.0


@dataclass
class Noise:
    """Standard deviations of the bench's sensors (simulator settings)."""

    temperature_k: float = 0.01
    flow_rel: float = 0.001
    power_rel: float = 0.0005
    voltage_v: float = 0.2
    air_k: float = 0.05
    humidity_pct: float = 0.3


@dataclass
class BenchModel:
    clock: Clock
    faults: FaultInjector | None = None
    perfmap: PerformanceMap = field(default_factory=PerformanceMap.nibe_s2125_12)
    seed: int = 0
    noise: Noise = field(default_factory=Noise)
    chamber: ChamberState = field(default_factory=ChamberState)
    heat_pump: HeatPumpState = field(default_factory=HeatPumpState)
    hydraulic: HydraulicState = field(default_factory=HydraulicState)
    electrical: ElectricalState = field(default_factory=ElectricalState)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.t = self.clock.now()
        self._measure()

    # -- stepping -----------------------------------------------------------------------
    def advance(self) -> None:
        """Integrate the physics up to the clock's now; cheap when called often."""
        now = self.clock.now()
        while self.t < now:
            dt = min(MAX_STEP_S, now - self.t)
            self._step(dt)
            self.t += dt
        self._measure()

    def _fault(self, role: str, kind: FaultKind) -> float | None:
        """The fault's main parameter (or 1.0) while active, else None."""
        if self.faults is None:
            return None
        fault = self.faults.active(role, kind)
        if fault is None:
            return None
        return float(next(iter(fault.params.values()), 1.0))

    def _step(self, dt: float) -> None:
        self._step_chamber(dt)
        self._step_water(dt)
        self._step_heat_pump(dt)
        self._step_electrical(dt)

    def _step_chamber(self, dt: float) -> None:
        c = self.chamber
        stuck = self._fault("climate_chamber", FaultKind.CHAMBER_STUCK)
        c.stuck_offset_k = 0.0 if stuck is None else (3.0 if stuck == 1.0 else stuck)
        if c.mode == "CONSTANT":
            target = c.temp_sp
            if c.stuck_offset_k:  # cannot pull the air further from ambient than sp +- offset
                target += math.copysign(c.stuck_offset_k, AMBIENT_C - c.temp_sp)
            humi_target = c.humi_sp if c.humi_sp is not None else c.humi_pv
        else:
            target, humi_target = AMBIENT_C, 50.0
        lagged = _lag(c.temp_pv, target, dt, CHAMBER_TAU_S)
        step = CHAMBER_RAMP_K_PER_S * dt
        c.temp_pv = min(max(lagged, c.temp_pv - step), c.temp_pv + step)
        c.humi_pv = _lag(c.humi_pv, humi_target, dt, HUMIDITY_TAU_S)

    def _step_water(self, dt: float) -> None:
        h, hp = self.hydraulic, self.heat_pump
        h.flow_m3h = _lag(h.flow_m3h, h.flow_sp_m3h if h.running else 0.0, dt, FLOW_TAU_S)
        if h.running and h.tracking:
            h.inlet_c = track_inlet(h.inlet_c, h.inlet_sp, dt)
        else:
            target = h.inlet_sp if h.running else h.outlet_c
            h.inlet_c = _lag(h.inlet_c, target, dt, WATER_INLET_TAU_S)
        mass_flow = h.flow_m3h / 3600.0 * water_density(h.inlet_c)
        if mass_flow > 1e-4:
            rise = hp.capacity_w / (mass_flow * water_cp((h.inlet_c + h.outlet_c) / 2))
        else:
            rise = 0.0
        h.outlet_c = _lag(h.outlet_c, h.inlet_c + rise, dt, CONDENSER_TAU_S)

    def _step_heat_pump(self, dt: float) -> None:
        hp, h, air = self.heat_pump, self.hydraulic, self.chamber
        self._alarm_from_fault(hp)
        flow_sp = self._flow_set_point()
        q_max = self.perfmap.max_capacity_w(air.temp_pv, flow_sp)
        p_max = self.perfmap.max_power_w(air.temp_pv, flow_sp)
        can_run = hp.running and hp.alarm_code == 0 and h.flow_m3h >= MIN_FLOW_M3H

        if can_run and hp.defrost:
            if hp.control_mode != BENCH:
                hp.own.count(dt, supply_c=h.outlet_c, set_point_c=flow_sp)
            hp.defrost_left_s -= dt
            if hp.defrost_left_s <= 0:
                hp.defrost, hp.frost = False, 0.0
            hp.capacity_w = _lag(hp.capacity_w, -0.3 * q_max, dt, 20.0)
            hp.power_w, hp.compressor_hz = 0.5 * p_max, 60.0
            return
        hp.defrost = False

        target = 0.0
        if not can_run or hp.control_mode == BENCH:
            hp.own.reset()
        if can_run:
            if hp.control_mode != BENCH:
                target = self._own_target(dt, flow_sp, q_max)
            elif hp.demand_pct is not None:
                target = max(MIN_MODULATION, min(hp.demand_pct / 100.0, 1.0)) * q_max
            else:
                mass_flow = h.flow_m3h / 3600.0 * water_density(h.inlet_c)
                needed = mass_flow * water_cp(h.inlet_c) * (hp.flow_temp_sp - h.inlet_c)
                target = 0.0 if needed < MIN_MODULATION * q_max / 2 else min(needed, q_max)
                target = max(target, MIN_MODULATION * q_max) if target else 0.0
        hp.capacity_w = _lag(hp.capacity_w, target, dt, COMPRESSOR_TAU_S)
        plr = max(0.0, hp.capacity_w) / q_max
        if plr < 0.02:
            hp.power_w, hp.compressor_hz = STANDBY_POWER_W, 0.0
        else:
            cop = (q_max / p_max) * (1.0 + PART_LOAD_COP_GAIN * (1.0 - plr))
            hp.power_w = hp.capacity_w / cop + STANDBY_POWER_W
            hp.compressor_hz = 25.0 + 95.0 * plr
        if can_run and plr > 0.02 and air.temp_pv < FROST_BELOW_C:
            x = humidity_ratio_g_per_kg(air.temp_pv, air.humi_pv)
            hp.frost += x * plr * dt / 60.0 / FROST_CAPACITY_G_MIN_PER_KG
            if hp.frost >= 1.0:
                hp.defrost, hp.defrost_left_s = True, DEFROST_S
                hp.defrost_count += 1

    def _flow_set_point(self) -> float:
        """The flow set point the unit works to: its curve's on its own curve, else the
        register's (the bench's, or the unit's own fixed one)."""
        hp = self.heat_pump
        if hp.control_mode == OWN_CURVE:
            return curve_flow_c(hp.heating_curve, self.chamber.temp_pv)
        return hp.flow_temp_sp

    def _own_target(self, dt: float, set_point: float, q_max: float) -> float:
        """The unit on its own controls; its controller sees the true supply temperature."""
        hp, h = self.heat_pump, self.hydraulic
        mass_flow = h.flow_m3h / 3600.0 * water_density(h.inlet_c)
        gain = mass_flow * water_cp(h.inlet_c)
        return hp.own.target_w(
            dt,
            supply_c=h.outlet_c,
            set_point_c=set_point,
            needed_w=gain * (set_point - h.inlet_c),
            gain_w_k=gain,
            q_max_w=q_max,
            min_share=MIN_MODULATION,
        )

    def _alarm_from_fault(self, hp: HeatPumpState) -> None:
        """An injected alarm holds while the fault does; it then resets itself, as a unit's
        auto-resetting alarms do, unless the fault says `latched=1` (then only a write to the
        alarm-reset register clears it)."""
        fault = None if self.faults is None else self.faults.active("heat_pump", FaultKind.HP_ALARM)
        if fault is not None:
            hp.alarm_code = int(fault.params.get("code", 2))
            hp.alarm_latched = bool(fault.params.get("latched", 0))
        elif hp.alarm_code and not hp.alarm_latched:
            hp.alarm_code = 0

    def _step_electrical(self, dt: float) -> None:
        e, hp = self.electrical, self.heat_pump
        e.power_w = hp.power_w
        e.indoor_w = min(e.power_w, INDOOR_UNIT_W)
        e.energy_wh += e.power_w * dt / 3600.0
        e.indoor_energy_wh += e.indoor_w * dt / 3600.0

    def _measure(self) -> None:
        """Fresh sensor readings around the true state."""
        g, n = self._rng.gauss, self.noise
        h, hp, e, c = self.hydraulic, self.heat_pump, self.electrical, self.chamber
        h.inlet_meas_c = h.inlet_c + g(0, n.temperature_k)
        h.outlet_meas_c = h.outlet_c + g(0, n.temperature_k)
        h.flow_meas_m3h = max(0.0, h.flow_m3h * (1 + g(0, n.flow_rel)))
        c.temp_meas = c.temp_pv + g(0, n.air_k)
        c.humi_meas = min(100.0, max(0.0, c.humi_pv + g(0, n.humidity_pct)))
        hp.own_outdoor_c = c.temp_pv + 0.4
        hp.own_supply_c = h.outlet_c + 0.3
        hp.own_return_c = h.inlet_c - 0.2
        hp.own_flow_lpm = h.flow_m3h * 1000.0 / 60.0 * 0.97
        hp.own_heat_w = hp.capacity_w * 1.03
        e.voltage_v = MAINS_V + g(0, n.voltage_v)
        e.power_factor = power_factor(hp.power_w)
        e.power_meas_w = e.power_w * (1 + g(0, n.power_rel))
        e.current_a = e.power_meas_w / (e.voltage_v * e.power_factor)
        e.apparent_va = e.voltage_v * e.current_a
        e.reactive_var = math.sqrt(max(0.0, e.apparent_va**2 - e.power_meas_w**2))
        e.frequency_hz = MAINS_HZ + g(0, 0.005)
