"""ModbusHeatPump against the simulated heat pump: values, commands, refusals, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from instruments.base import (
    ConnectionLost,
    HeatPump,
    InstrumentError,
    InstrumentTimeout,
    ProtocolError,
    Quality,
    WriteRefused,
)
from instruments.heat_pump.modbus_heat_pump import ModbusHeatPump
from instruments.modbus.client import ModbusExceptionError
from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.modbus_servers import HeatPumpSim
from instruments.sim.model import BenchModel, Noise
from instruments.sim.proxy import FaultProxy
from tests.conftest import ManualClock as FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def faults(clock: FrozenClock) -> FaultInjector:
    return FaultInjector(clock)


@pytest.fixture
def model(clock: FrozenClock, faults: FaultInjector) -> BenchModel:
    return BenchModel(clock, faults, noise=Noise(0, 0, 0, 0, 0, 0))


@pytest.fixture
async def sim(model: BenchModel) -> AsyncIterator[HeatPumpSim]:
    s = HeatPumpSim(model)
    yield s
    await s.stop()


@pytest.fixture
async def hp(sim: HeatPumpSim) -> AsyncIterator[ModbusHeatPump]:
    port = await sim.start()
    driver = ModbusHeatPump("hp", f"tcp://127.0.0.1:{port}", timeout_s=1.0)
    yield driver
    await driver.close()


def test_is_a_heat_pump() -> None:
    driver = ModbusHeatPump("hp", "tcp://127.0.0.1:502")
    assert isinstance(driver, HeatPump)
    assert driver.role == "heat_pump"
    assert driver.channels()["flow_temp_sp"] == "°C"
    assert driver.channels()["heat_output"] == "W"


def test_a_map_without_the_heat_pump_commands_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks \\[commands\\] flow_temperature"):
        ModbusHeatPump("hp", "tcp://127.0.0.1:502", map="hpbench_hm")


async def test_identify(hp: ModbusHeatPump) -> None:
    identity = await hp.identify()
    assert (identity.make, identity.serial, identity.firmware) == ("hpbench", "20250001", "103")
    assert identity.model.startswith("Simulated air-to-water heat pump")


async def test_readings_match_the_model(hp: ModbusHeatPump, model: BenchModel) -> None:
    model.chamber.temp_pv = -7.0
    model.hydraulic.inlet_c, model.hydraulic.outlet_c, model.hydraulic.flow_m3h = 30.0, 35.0, 1.5
    model.heat_pump.running = True
    model.heat_pump.defrost = True
    model.heat_pump.alarm_code = 12
    model.heat_pump.capacity_w = 7000.0
    model.heat_pump.compressor_hz = 58.7
    model.heat_pump.defrost_count = 3
    model.electrical.energy_wh = 123456.0

    r = await hp.read()
    hps = model.heat_pump
    assert r["outdoor_temp"].value == pytest.approx(-6.6)  # the unit's sensor reads 0.4 K high
    assert r["supply_temp"].value == pytest.approx(hps.own_supply_c, abs=0.0501)
    assert r["return_temp"].value == pytest.approx(hps.own_return_c, abs=0.0501)
    assert r["flow_rate"].value == pytest.approx(hps.own_flow_lpm, abs=0.0501)
    assert r["compressor_freq"].value == 58.7
    assert r["heat_output"].value == pytest.approx(hps.own_heat_w, rel=1e-6)  # float32
    assert r["electrical_energy"].value == 123456
    assert (r["running"].value, r["defrost"].value, r["alarm"].value) == (1.0, 1.0, 1.0)
    assert (r["alarm_code"].value, r["defrost_count"].value) == (12, 3)
    assert (r["on_off"].value, r["mode"].value, r["flow_temp_sp"].value) == (1.0, 1.0, 35.0)
    assert all(reading.quality is Quality.OK for reading in r.values())
    assert r["outdoor_temp"].unit == "°C" and r["flow_rate"].unit == "l/min"


async def test_commands_land_in_the_model(hp: ModbusHeatPump, model: BenchModel) -> None:
    await hp.set_flow_temperature(47.5)
    assert model.heat_pump.flow_temp_sp == 47.5
    await hp.set_running(True)
    assert model.heat_pump.running is True
    await hp.set_running(False)
    assert model.heat_pump.running is False
    await hp.write("demand_pct", 60)
    assert model.heat_pump.demand_pct == 60.0
    await hp.set_demand(0)
    assert model.heat_pump.demand_pct is None  # 0 = follow the set point
    await hp.write("mode", 2)
    assert model.heat_pump.mode == 2
    model.heat_pump.alarm_code = 9
    await hp.reset_alarm()
    assert model.heat_pump.alarm_code == 0
    assert (await hp.read())["flow_temp_sp"].value == 47.5


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda hp: hp.set_flow_temperature(66.0), "outside its valid range"),
        (lambda hp: hp.set_flow_temperature(19.9), "outside its valid range"),
        (lambda hp: hp.write("outdoor_temp", 5.0), "read-only"),
        (lambda hp: hp.write("heat_output", 5.0), "read-only"),
        (lambda hp: hp.write("nonsense", 1.0), "no register 'nonsense'"),
        (lambda hp: hp.write("demand_pct", 101), "outside its valid range"),
    ],
)
async def test_refused_writes_never_reach_the_wire(
    hp: ModbusHeatPump, sim: HeatPumpSim, model: BenchModel, call: object, why: str
) -> None:
    with pytest.raises(WriteRefused, match=why):
        await call(hp)  # type: ignore[operator]
    assert [r for r in sim.requests if r.is_write] == []
    assert hp.client.requests_sent == 0
    assert model.heat_pump.flow_temp_sp == 35.0


async def test_rtu_over_socket(sim: HeatPumpSim, model: BenchModel) -> None:
    port = await sim.start_rtu()
    driver = ModbusHeatPump("hp", f"rtu+socket://127.0.0.1:{port}")
    try:
        await driver.set_flow_temperature(52.0)
        await driver.set_running(True)
        readings = await driver.read()
        identity = await driver.identify()
    finally:
        await driver.close()
    assert (model.heat_pump.flow_temp_sp, model.heat_pump.running) == (52.0, True)
    assert readings["flow_temp_sp"].value == 52.0 and readings["running"].value == 1.0
    assert identity.serial == "20250001"


async def test_stiebel_map_through_the_simulator(model: BenchModel) -> None:
    sim = HeatPumpSim(model, map="stiebel_eltron_wpm")
    port = await sim.start()
    driver = ModbusHeatPump("wpm", f"tcp://127.0.0.1:{port}", map="stiebel_eltron_wpm")
    model.chamber.temp_pv = 2.0
    model.heat_pump.running = True
    try:
        r = await driver.read()
        await driver.set_flow_temperature(55.0)
        await driver.set_running(False)
        identity = await driver.identify()
    finally:
        await driver.close()
        await sim.stop()
    assert r["outdoor_temp"].value == 2.4
    assert r["operating_mode"].value == 3  # comfort while running
    assert r["comfort_temp_hk1"].quality is Quality.INVALID  # no model behind it: 0x8000
    assert (model.heat_pump.flow_temp_sp, model.heat_pump.running) == (55.0, False)
    wire = [(q.function_code, q.address, q.values) for q in sim.requests if q.is_write]
    assert wire == [(6, 1507, (550,)), (6, 1500, (1,))]  # doc 1508 and 1501, 1-based
    assert (identity.make, identity.serial, identity.firmware) == ("Stiebel Eltron", "", "")


# -- value faults -------------------------------------------------------------------------------
async def test_modbus_exception_fault(hp: ModbusHeatPump, faults: FaultInjector) -> None:
    faults.inject("heat_pump", FaultKind.MODBUS_EXCEPTION)
    with pytest.raises(ModbusExceptionError, match="exception code 4") as info:
        await hp.read()
    assert info.value.code == 4
    with pytest.raises(ProtocolError, match="code 4"):
        await hp.set_flow_temperature(40.0)
    faults.clear()
    await hp.set_flow_temperature(40.0)
    assert (await hp.read())["flow_temp_sp"].value == 40.0


async def test_over_range_fault_reads_invalid(hp: ModbusHeatPump, faults: FaultInjector) -> None:
    faults.inject("heat_pump", FaultKind.OVER_RANGE)
    r = await hp.read()
    assert r["outdoor_temp"].quality is Quality.INVALID and "0x8000" in r["outdoor_temp"].detail
    assert r["heat_output"].quality is Quality.INVALID  # float32 NaN
    assert r["electrical_energy"].quality is Quality.INVALID  # 0xFFFFFFFF
    assert r["running"].quality is Quality.OK  # a status bit has no sentinel
    faults.clear()
    assert (await hp.read())["outdoor_temp"].quality is Quality.OK


async def test_alarm_from_the_physics_model(
    hp: ModbusHeatPump, faults: FaultInjector, clock: FrozenClock
) -> None:
    await hp.set_running(True)
    faults.inject("heat_pump", FaultKind.HP_ALARM, code=5)
    clock.t += 1.0  # one physics step applies the alarm
    r = await hp.read()
    assert (r["alarm"].value, r["alarm_code"].value) == (1.0, 5.0)


# -- transport faults through the FaultProxy ----------------------------------------------------
@pytest.mark.parametrize("transport", ["tcp", "rtu+socket"])
@pytest.mark.parametrize(
    ("kind", "params", "error"),
    [
        (FaultKind.DROP, {}, ConnectionLost),
        (FaultKind.DELAY, {"seconds": 1.0}, InstrumentTimeout),
        (FaultKind.GARBLE, {}, InstrumentError),
    ],
)
async def test_transport_faults_and_recovery(
    sim: HeatPumpSim,
    faults: FaultInjector,
    model: BenchModel,
    transport: str,
    kind: FaultKind,
    params: dict[str, float],
    error: type[InstrumentError],
) -> None:
    if transport == "tcp":
        upstream, framing = await sim.start(), "mbap"
    else:
        upstream, framing = await sim.start_rtu(), "raw"
    proxy = FaultProxy("heat_pump", ("127.0.0.1", upstream), faults, framing=framing)  # type: ignore[arg-type]
    port = await proxy.start()
    driver = ModbusHeatPump("hp", f"{transport}://127.0.0.1:{port}", timeout_s=0.2)
    try:
        assert (await driver.read())["flow_temp_sp"].value == 35.0
        faults.inject("heat_pump", kind, **params)
        with pytest.raises(error):
            await driver.read()
        faults.clear()
        await driver.set_flow_temperature(42.0)  # the same driver object recovers
        assert (await driver.read())["flow_temp_sp"].value == 42.0
        assert model.heat_pump.flow_temp_sp == 42.0
    finally:
        await driver.close()
        await proxy.stop()
