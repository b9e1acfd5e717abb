"""NIBE S-series and Daikin Altherma (EKRHH) maps: exact PDUs, sentinels, and the simulators."""

from __future__ import annotations

import pytest

from instruments.base import InstrumentError, Quality, WriteRefused
from instruments.heat_pump.vendor_maps import DaikinAltherma, NibeSSeries
from instruments.modbus.regmap import load_map
from instruments.sim.modbus_devices import DaikinSim, NibeSim
from instruments.sim.model import BenchModel
from tests.exchange import ModbusScript


def _words(values: dict[int, int], count: int) -> str:
    return " ".join(f"{values.get(i, 0) & 0xFFFF:04x}" for i in range(count))


def _daikin_inputs() -> str:
    # doc number -> raw value; the block starts at doc 21 (wire 20)
    raw = {30: 1, 31: 1, 40: 3512, 42: 3005, 44: 702, 49: 2550, 51: 185}
    return f"01 04 3e {_words({doc - 21: v for doc, v in raw.items()}, 31)}"


DAIKIN_READ = [
    ("01 03 0000 0004", "01 03 08 0023 0000 0001 0001"),
    ("01 03 0037 0003", "01 03 06 0002 0000 01f4"),
    ("01 04 0014 001f", _daikin_inputs()),
]


async def _connect(cls: type, script: ModbusScript) -> NibeSSeries | DaikinAltherma:
    port = await script.start()
    hp = cls("hp", f"tcp://127.0.0.1:{port}", timeout_s=0.5)
    await hp.connect()
    return hp


async def test_daikin_read_and_commands_exact_pdus() -> None:
    script = ModbusScript(
        [
            *DAIKIN_READ,
            ("01 06 0003 0001", "01 06 0003 0001"),  # doc 4: space heating on
            ("01 06 0000 0028", "01 06 0000 0028"),  # doc 1: leaving water 40 degC
        ]
    )
    hp = await _connect(DaikinAltherma, script)
    try:
        r = await hp.read()
        await hp.set_running(True)
        await hp.set_flow_temperature(40.0)
    finally:
        await hp.close()
        await script.stop()
    assert script.done(), script.mismatch
    assert r["supply_temp"].value == 35.12 and r["return_temp"].value == 30.05
    assert r["flow_rate"].value == 25.5 and r["power_consumption"].value == 1.85
    assert r["smart_grid"].value == 2 and r["power_limit"].value == 5.0
    assert r["compressor_on"].value == 1 and r["alarm"].value == 0


async def test_daikin_out_of_range_raw_is_invalid_and_exception_is_an_error() -> None:
    bad = _daikin_inputs().replace("0db8", "7fff")  # supply 327.67 degC: not a water temperature
    script = ModbusScript(
        [*DAIKIN_READ[:2], ("01 04 0014 001f", bad), (DAIKIN_READ[0][0], "01 83 04")]
    )
    hp = await _connect(DaikinAltherma, script)
    try:
        assert (await hp.read())["supply_temp"].quality is Quality.INVALID
        with pytest.raises(InstrumentError, match="hp"):
            await hp.read()
    finally:
        await hp.close()
        await script.stop()


async def test_nibe_commands_exact_pdus_and_no_running_register() -> None:
    script = ModbusScript(
        [
            ("01 06 0022 015e", "01 06 0022 015e"),  # HR 34: min supply 35.0 degC (x10)
            ("01 06 0016 0001", "01 06 0016 0001"),  # HR 22: reset alarm
            ("01 04 0001 0001", "01 04 02 8000"),  # IR 1 outdoor: 0x8000, not available
            ("01 04 0005 0001", "01 04 02 015f"),  # IR 5 supply: 35.1 degC
        ]
    )
    hp = await _connect(NibeSSeries, script)
    try:
        await hp.set_flow_temperature(35.0)
        await hp.reset_alarm()
        with pytest.raises(WriteRefused, match="no on/off register"):
            await hp.set_running(True)
        outdoor = await hp.client.read_value("outdoor_temp")
        supply = await hp.client.read_value("supply_temp")
    finally:
        await hp.close()
        await script.stop()
    assert outdoor.quality is Quality.INVALID and "0x8000" in outdoor.detail
    assert supply.value == 35.1
    assert script.done(), script.mismatch


def test_maps_declare_what_a_heat_pump_needs() -> None:
    for name in ("nibe_s_series", "daikin_altherma_ekrhh"):
        m = load_map(name)
        assert {"supply_temp", "return_temp", "outdoor_temp", "flow_rate"} <= set(m.channels())
        assert m.commands["flow_temperature"].channel in {r.name for r in m.writable}
        assert all(r.min is not None and r.max is not None for r in m.writable)
    assert "defrost" in load_map("daikin_altherma_ekrhh").channels()


@pytest.mark.parametrize(("cls", "sim_cls"), [(NibeSSeries, NibeSim), (DaikinAltherma, DaikinSim)])
async def test_through_pymodbus_against_the_simulator(manual_clock, cls, sim_cls) -> None:
    bench = BenchModel(manual_clock)
    sim = sim_cls(bench)
    port = await sim.start()
    hp = cls("hp", f"tcp://127.0.0.1:{port}")
    try:
        await hp.connect()
        await hp.set_flow_temperature(45.0)
        assert bench.heat_pump.flow_temp_sp == 45.0
        manual_clock.advance(60)
        r = await hp.read()
        assert set(r) == set(hp.channels())
        assert r["outdoor_temp"].value == pytest.approx(bench.heat_pump.own_outdoor_c, abs=0.1)
        assert r["supply_temp"].quality is Quality.OK
    finally:
        await hp.close()
        await sim.stop()
