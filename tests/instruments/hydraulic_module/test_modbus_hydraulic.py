"""ModbusHydraulicModule against the simulated hydraulic module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from instruments.base import (
    ConnectionLost,
    HydraulicModule,
    InstrumentError,
    InstrumentTimeout,
    Quality,
    WriteRefused,
)
from instruments.hydraulic_module.modbus_hydraulic import ModbusHydraulicModule
from instruments.modbus.client import ModbusExceptionError
from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.modbus_servers import HydraulicModuleSim, Request
from instruments.sim.model import BenchModel, Noise
from instruments.sim.proxy import FaultProxy
from tests.conftest import ManualClock as FrozenClock


@pytest.fixture
def faults() -> FaultInjector:
    return FaultInjector(FrozenClock())


@pytest.fixture
def model(faults: FaultInjector) -> BenchModel:
    return BenchModel(faults.clock, faults, noise=Noise(0, 0, 0, 0, 0, 0))


@pytest.fixture
async def sim(model: BenchModel) -> AsyncIterator[HydraulicModuleSim]:
    s = HydraulicModuleSim(model)
    yield s
    await s.stop()


@pytest.fixture
async def hm(sim: HydraulicModuleSim) -> AsyncIterator[ModbusHydraulicModule]:
    port = await sim.start()
    driver = ModbusHydraulicModule("hm", f"tcp://127.0.0.1:{port}", timeout_s=1.0)
    yield driver
    await driver.close()


def test_is_a_hydraulic_module() -> None:
    driver = ModbusHydraulicModule("hm", "tcp://127.0.0.1:502")
    assert isinstance(driver, HydraulicModule)
    assert driver.role == "hydraulic_module"
    assert driver.channels() == {
        "inlet_temp": "°C",
        "outlet_temp": "°C",
        "volume_flow": "m³/h",
        "pump_running": "",
        "fault": "",
        "barometric_pressure": "Pa",  # the bench's barometer (issue 13)
        "inlet_temp_sp": "°C",
        "flow_sp": "m³/h",
        "pump_run": "",
    }


async def test_identify_without_serial_registers(hm: ModbusHydraulicModule) -> None:
    identity = await hm.identify()
    assert (identity.make, identity.serial, identity.firmware) == ("hpbench", "", "")
    assert identity.model == "Hydraulic module PLC (hm-1)"


async def test_calibrated_readings_match_the_model(
    hm: ModbusHydraulicModule, sim: HydraulicModuleSim, model: BenchModel
) -> None:
    model.hydraulic.inlet_c, model.hydraulic.outlet_c, model.hydraulic.flow_m3h = (
        30.123,
        35.456,
        1.789,
    )
    r = await hm.read()
    assert (r["inlet_temp"].value, r["outlet_temp"].value, r["volume_flow"].value) == (
        30.123,
        35.456,
        1.789,
    )
    assert (r["pump_running"].value, r["fault"].value) == (1.0, 0.0)
    assert r["barometric_pressure"].value == model.hydraulic.barometric_pa == 101325.0
    assert (r["inlet_temp_sp"].value, r["flow_sp"].value, r["pump_run"].value) == (30.0, 1.6, 1.0)
    assert all(reading.quality is Quality.OK for reading in r.values())
    assert sim.requests == [Request(1, 3, 0, 5), Request(1, 4, 0, 10)]


async def test_set_points_land_in_the_model(
    hm: ModbusHydraulicModule, sim: HydraulicModuleSim, model: BenchModel
) -> None:
    await hm.set_inlet_temperature(35.5)
    await hm.set_flow(1.25)
    await hm.set_running(False)
    assert (model.hydraulic.inlet_sp, model.hydraulic.flow_sp_m3h) == (35.5, 1.25)
    assert model.hydraulic.running is False
    # float32 high word first on the wire: 35.5 = 0x420E0000, 1.25 = 0x3FA00000
    assert [(q.function_code, q.address, q.values) for q in sim.requests] == [
        (16, 0, (0x420E, 0x0000)),
        (16, 2, (0x3FA0, 0x0000)),
        (6, 4, (0,)),
    ]
    await hm.set_running(True)
    assert model.hydraulic.running is True


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda hm: hm.set_flow(6.5), r"outside its valid range \[0, 6\] m³/h"),
        (lambda hm: hm.set_inlet_temperature(4.0), "outside its valid range"),
        (lambda hm: hm.write("inlet_temp", 20.0), "read-only"),
        (lambda hm: hm.write("valve", 1.0), "no register 'valve'"),
    ],
)
async def test_refused_writes_never_reach_the_wire(
    hm: ModbusHydraulicModule, sim: HydraulicModuleSim, model: BenchModel, call: object, why: str
) -> None:
    with pytest.raises(WriteRefused, match=why):
        await call(hm)  # type: ignore[operator]
    assert sim.requests == []
    assert (model.hydraulic.inlet_sp, model.hydraulic.flow_sp_m3h) == (30.0, 1.6)


async def test_value_faults(hm: ModbusHydraulicModule, faults: FaultInjector) -> None:
    faults.inject("hydraulic_module", FaultKind.OVER_RANGE)
    r = await hm.read()
    assert r["inlet_temp"].quality is Quality.INVALID  # NaN
    assert r["volume_flow"].quality is Quality.INVALID
    faults.clear()
    faults.inject("hydraulic_module", FaultKind.MODBUS_EXCEPTION, code=6)
    with pytest.raises(ModbusExceptionError, match="code 6"):
        await hm.set_flow(1.0)
    faults.clear()
    assert (await hm.read())["inlet_temp"].quality is Quality.OK


@pytest.mark.parametrize(
    ("kind", "params", "error"),
    [
        (FaultKind.DROP, {}, ConnectionLost),
        (FaultKind.DELAY, {"seconds": 1.0}, InstrumentTimeout),
        (FaultKind.GARBLE, {}, InstrumentError),
    ],
)
async def test_transport_faults_and_recovery(
    sim: HydraulicModuleSim,
    faults: FaultInjector,
    model: BenchModel,
    kind: FaultKind,
    params: dict[str, float],
    error: type[InstrumentError],
) -> None:
    proxy = FaultProxy("hydraulic_module", ("127.0.0.1", await sim.start()), faults, framing="mbap")
    port = await proxy.start()
    driver = ModbusHydraulicModule("hm", f"tcp://127.0.0.1:{port}", timeout_s=0.2)
    try:
        await driver.read()
        faults.inject("hydraulic_module", kind, **params)
        with pytest.raises(error):
            await driver.read()
        faults.clear()
        await driver.set_inlet_temperature(44.0)
        assert (await driver.read())["inlet_temp_sp"].value == 44.0
        assert model.hydraulic.inlet_sp == 44.0
    finally:
        await driver.close()
        await proxy.stop()
