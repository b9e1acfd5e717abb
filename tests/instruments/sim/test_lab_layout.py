"""The simulated bench's lab layout: real drivers on the data logger, heat meter and two analysers
agree with the bench's own instruments on the same physics, and a fault stays on its endpoint.

Readings of two instruments are taken at different bench instants (the clock is time-warped),
so each comparison brackets the probe between two readings of the reference: what the probe
reads must lie between them, give or take the sensors' noise (model.Noise, a few sigma).
"""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from instruments.base import InstrumentError, Quality
from instruments.clock import ScaledClock
from instruments.data_logger.keysight_daq import KeysightDAQ970A
from instruments.heat_meter.kamstrup_multical import KamstrupMultical
from instruments.hydraulic_module.modbus_hydraulic import ModbusHydraulicModule
from instruments.power_analyser.yokogawa_wt import YokogawaWT333E
from instruments.power_analyser.yokogawa_wt300 import YokogawaWT300
from instruments.sim.bench import SimBench
from instruments.sim.model import INDOOR_UNIT_W

SIM_LAB = Path(__file__).parents[3] / "bench" / "stations" / "sim_lab.toml"
FRTD = {
    "water_in": {"channel": 101, "sensor": "frtd"},
    "water_out": {"channel": 102, "sensor": "frtd"},
}


@pytest.fixture
async def lab() -> AsyncIterator[tuple[SimBench, dict]]:
    clock = ScaledClock(2000)  # the unit settles in a third of a wall second
    async with SimBench(clock) as sim:
        ep = sim.endpoints
        assert ep is not None
        hp = sim.model.heat_pump
        hp.running, hp.demand_pct = True, 60.0  # the outdoor unit then carries a real load
        found = {
            "pa": YokogawaWT300("pa", ep.power_analyser),
            "hm": ModbusHydraulicModule("hm", ep.hydraulic_module),
            "pa_odu": YokogawaWT333E("pa_odu", ep.pa_odu, wiring="3P4W", timeout_s=0.5),
            "pa_idu": YokogawaWT300("pa_idu", ep.pa_idu),
            "daq": KeysightDAQ970A("daq", ep.data_logger, channels=FRTD),
            "flow": KamstrupMultical("flow", ep.heat_meter),
        }
        try:
            for inst in found.values():
                await inst.connect()
            await clock.sleep(600)  # compressor and water loop at steady state (tau <= 120 s)
            yield sim, found
        finally:
            for inst in found.values():
                await inst.close()


async def _read(inst, channel: str) -> float:
    reading = (await inst.read())[channel]
    assert reading.quality is Quality.OK, (inst.name, channel, reading)
    return reading.value


async def _between(
    reference: Callable[[], Awaitable[float]], probe: Callable[[], Awaitable[float]], tol: float
) -> float:
    before = await reference()
    value = await probe()
    after = await reference()
    assert min(before, after) - tol <= value <= max(before, after) + tol, (before, value, after)
    return value


async def test_the_two_analysers_split_the_whole_input(lab):
    _, i = lab
    odu, idu = i["pa_odu"], i["pa_idu"]

    async def parts() -> float:
        r = await odu.read()
        sigma = r["P_sigma"].value
        # balanced over the three phases, on the mains voltage
        assert [r[f"P{n}"].value for n in (1, 2, 3)] == pytest.approx([sigma / 3] * 3, rel=1e-4)
        assert r["U1"].value == pytest.approx(230.0, abs=2.0)
        return sigma + await _read(idu, "P")

    tol = 0.003 * await _read(i["pa"], "P")  # noise sigma 0.05 % per reading
    total = await _between(lambda: _read(i["pa"], "P"), parts, tol)
    assert total > 10 * INDOOR_UNIT_W  # the unit is running: the outdoor unit carries most
    assert await _read(idu, "P") == pytest.approx(INDOOR_UNIT_W, rel=0.005)


async def test_data_logger_pt100s_read_the_water_temperatures(lab):
    _, i = lab
    hm, daq = i["hm"], i["daq"]
    tol = 6 * 0.01 + 0.001  # noise sigma 0.01 K per reading; the DAQ prints 10 digits
    await _between(lambda: _read(hm, "inlet_temp"), lambda: _read(daq, "water_in"), tol)
    outlet = await _between(lambda: _read(hm, "outlet_temp"), lambda: _read(daq, "water_out"), tol)
    assert outlet > await _read(daq, "water_in") + 1.0  # heat is going into the water


async def test_heat_meter_flow_is_the_water_flow(lab):
    _, i = lab

    async def litres_per_hour_as_m3h() -> float:
        return await _read(i["flow"], "flow_v1") / 1000.0

    flow = await _between(lambda: _read(i["hm"], "volume_flow"), litres_per_hour_as_m3h, 0.01)
    assert flow == pytest.approx(1.6, rel=0.01)


async def test_a_fault_on_pa_odu_reaches_only_that_endpoint(lab):
    sim, i = lab
    others = {"pa": "P", "pa_idu": "P", "daq": "water_in", "flow": "flow_v1", "hm": "inlet_temp"}
    sim.faults.inject("pa_odu", "over_range")
    r = await i["pa_odu"].read()
    assert r["P_sigma"].quality is Quality.INVALID and r["U1"].quality is Quality.INVALID
    for name, channel in others.items():
        await _read(i[name], channel)  # OK quality, asserted there
    sim.faults.clear("pa_odu")
    sim.faults.inject("pa_odu", "drop")
    with pytest.raises(InstrumentError, match="pa_odu"):
        await i["pa_odu"].read()
    for name, channel in others.items():
        await _read(i[name], channel)


async def test_serials_in_the_lab_station_are_what_the_simulators_report(lab):
    _, i = lab
    station = tomllib.loads(SIM_LAB.read_text())["instruments"]
    for name in ("pa_odu", "pa_idu", "daq"):
        assert (await i[name].identify()).serial == station[name]["serial"], name


async def test_value_faults_of_the_logger_and_the_meter_stay_on_them(lab):
    sim, i = lab
    sim.faults.inject("data_logger", "over_range")  # an open Pt100: the overload value
    sim.faults.inject("heat_meter", "over_range")  # the meter's invalid pattern
    assert (await i["daq"].read())["water_out"].quality is Quality.INVALID
    assert (await i["flow"].read())["flow_v1"].quality is Quality.INVALID
    for channel in ("inlet_temp", "outlet_temp", "volume_flow"):
        await _read(i["hm"], channel)
