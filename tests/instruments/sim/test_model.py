"""Physics of the simulated bench: published map, heat balance, lags, defrost, faults."""

import pytest

from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.model import (
    CHAMBER_RAMP_K_PER_S,
    STANDBY_POWER_W,
    BenchModel,
    humidity_ratio_g_per_kg,
    water_cp,
    water_density,
)


def run(model: BenchModel, clock, seconds: float, step: float = 10.0) -> None:
    for _ in range(int(seconds / step)):
        clock.advance(step)
        model.advance()


def rating_point(model: BenchModel, air: float, rh: float, outlet: float, inlet: float) -> None:
    model.chamber.mode = "CONSTANT"
    model.chamber.temp_sp, model.chamber.humi_sp = air, rh
    model.hydraulic.inlet_sp, model.hydraulic.flow_sp_m3h = inlet, 1.6
    model.heat_pump.flow_temp_sp, model.heat_pump.running = outlet, True


def test_a7w35_reaches_steady_state_with_a_closed_heat_balance(manual_clock):
    model = BenchModel(manual_clock)
    rating_point(model, 7.0, 86.8, 35.0, 30.0)
    run(model, manual_clock, 3600)
    hp, water = model.heat_pump, model.hydraulic
    assert model.chamber.temp_pv == pytest.approx(7.0, abs=0.05)
    assert water.outlet_c == pytest.approx(35.0, abs=0.05)
    assert water.inlet_c == pytest.approx(30.0, abs=0.05)
    mass_flow = water.flow_m3h / 3600 * water_density(water.inlet_c)
    delivered = mass_flow * water_cp((water.inlet_c + water.outlet_c) / 2) * (35.0 - 30.0)
    assert hp.capacity_w == pytest.approx(delivered, rel=0.01)
    # below the map's maximum, and the COP is the map's full-load COP raised by part load
    full_cop = model.perfmap.cop_at_full_load(7.0, 35.0)
    assert hp.capacity_w < model.perfmap.max_capacity_w(7.0, 35.0)
    assert full_cop < hp.capacity_w / hp.power_w < full_cop * 1.35
    assert not hp.defrost and hp.defrost_count == 0


def test_electrical_readings_are_consistent(manual_clock):
    model = BenchModel(manual_clock)
    rating_point(model, 7.0, 86.8, 35.0, 30.0)
    run(model, manual_clock, 1200)
    e = model.electrical
    assert e.power_meas_w == pytest.approx(model.heat_pump.power_w, rel=0.005)
    assert e.apparent_va == pytest.approx(e.voltage_v * e.current_a)
    assert e.power_meas_w / e.apparent_va == pytest.approx(e.power_factor)
    assert e.energy_wh > 0


def test_chamber_ramp_is_limited(manual_clock):
    model = BenchModel(manual_clock)
    model.chamber.mode, model.chamber.temp_sp = "CONSTANT", -7.0
    start = model.chamber.temp_pv
    run(model, manual_clock, 600, step=1.0)
    assert start - model.chamber.temp_pv <= CHAMBER_RAMP_K_PER_S * 600 + 1e-9


def test_defrost_cycles_in_cold_humid_air_and_not_in_mild_air(manual_clock):
    cold = BenchModel(manual_clock)
    rating_point(cold, 2.0, 83.9, 35.0, 30.0)
    cold.chamber.temp_pv, cold.chamber.humi_pv = 2.0, 83.9
    capacities = []
    for _ in range(3 * 3600 // 10):
        manual_clock.advance(10)
        cold.advance()
        capacities.append(cold.heat_pump.capacity_w)
    # tens of minutes between defrosts: 2 to 6 in three hours, each drawing heat from the water
    assert 2 <= cold.heat_pump.defrost_count <= 6
    assert min(capacities) < 0

    mild = BenchModel(manual_clock)
    rating_point(mild, 12.0, 88.9, 35.0, 30.0)
    mild.chamber.temp_pv = 12.0
    run(mild, manual_clock, 3 * 3600, step=30)
    assert mild.heat_pump.defrost_count == 0


def test_heat_pump_alarm_stops_the_compressor(manual_clock):
    faults = FaultInjector(manual_clock)
    model = BenchModel(manual_clock, faults)
    rating_point(model, 7.0, 86.8, 35.0, 30.0)
    run(model, manual_clock, 900)
    faults.inject("heat_pump", FaultKind.HP_ALARM, code=17)
    run(model, manual_clock, 900)
    assert model.heat_pump.alarm_code == 17
    assert model.heat_pump.capacity_w < 50
    assert model.heat_pump.power_w == STANDBY_POWER_W


def test_a_stuck_chamber_stays_off_its_set_point(manual_clock):
    faults = FaultInjector(manual_clock)
    model = BenchModel(manual_clock, faults)
    faults.inject("climate_chamber", FaultKind.CHAMBER_STUCK, offset=4.0)
    model.chamber.mode, model.chamber.temp_sp = "CONSTANT", -7.0
    run(model, manual_clock, 4 * 3600, step=30)
    assert model.chamber.temp_pv == pytest.approx(-3.0, abs=0.1)


def test_no_flow_no_compressor(manual_clock):
    model = BenchModel(manual_clock)
    rating_point(model, 7.0, 86.8, 35.0, 30.0)
    model.hydraulic.running = False
    run(model, manual_clock, 600)
    assert model.heat_pump.compressor_hz == 0.0


def test_fixed_demand_runs_at_that_share_of_the_map(manual_clock):
    model = BenchModel(manual_clock)
    rating_point(model, 7.0, 86.8, 35.0, 30.0)
    model.heat_pump.demand_pct = 50.0
    run(model, manual_clock, 1800)
    expected = 0.5 * model.perfmap.max_capacity_w(7.0, 35.0)
    assert model.heat_pump.capacity_w == pytest.approx(expected, rel=0.01)


def test_humidity_ratio_against_a_psychrometric_table():
    # ASHRAE Fundamentals: saturated air at 20 C and 101.325 kPa holds 14.75 g/kg
    assert humidity_ratio_g_per_kg(20.0, 100.0) == pytest.approx(14.75, rel=0.01)


def test_an_injected_alarm_resets_itself_unless_latched(manual_clock):
    faults = FaultInjector(manual_clock)
    model = BenchModel(manual_clock, faults)
    rating_point(model, 7.0, 86.8, 35.0, 30.0)
    faults.inject("heat_pump", FaultKind.HP_ALARM, duration=300, code=5)
    run(model, manual_clock, 200)
    assert model.heat_pump.alarm_code == 5
    run(model, manual_clock, 200)
    assert model.heat_pump.alarm_code == 0  # auto-reset when the cause is gone
    faults.inject("heat_pump", FaultKind.HP_ALARM, duration=300, code=6, latched=1)
    run(model, manual_clock, 600)
    assert model.heat_pump.alarm_code == 6  # latched: only the reset register clears it
