"""Kamstrup MULTICAL Modbus module: the float datagram, its invalid pattern, the simulator."""

from __future__ import annotations

import pytest

from instruments.base import InstrumentError, Quality
from instruments.heat_meter.kamstrup_multical import KamstrupMultical
from instruments.sim.modbus_devices import KamstrupSim
from instruments.sim.model import BenchModel
from tests.exchange import ModbusScript

# flow V1 1600 l/h, flow V2 invalid (0x4F800000), power 5.2 kW, t1 35, t2 30, t3 NaN, t4 invalid
DATAGRAM = "44c8 0000 4f80 0000 40a6 6666 420c 0000 41f0 0000 7fc0 0000 4f80 0000"


async def _meter(script: ModbusScript) -> KamstrupMultical:
    port = await script.start()
    meter = KamstrupMultical("hm", f"tcp://127.0.0.1:{port}", timeout_s=0.5)
    await meter.connect()
    return meter


async def test_datagram_exact_pdu_and_invalid_patterns() -> None:
    script = ModbusScript([("01 04 0000 000e", f"01 04 1c {DATAGRAM}")])
    meter = await _meter(script)
    try:
        r = await meter.read()
    finally:
        await meter.close()
        await script.stop()
    assert script.done(), script.mismatch
    assert r["flow_v1"].value == 1600.0 and r["power"].value == pytest.approx(5.2)
    assert (r["t1_supply"].value, r["t2_return"].value) == (35.0, 30.0)
    for name in ("flow_v2", "t3", "t4"):
        assert r[name].quality is Quality.INVALID, name
    assert "0x4F800000" in r["flow_v2"].detail


@pytest.mark.parametrize(
    "reply", ["01 04 1a " + DATAGRAM[:-5], "01 84 02", "01 03 1c " + DATAGRAM],
    ids=["byte-count-short", "exception", "wrong-function"],
)  # fmt: skip
async def test_bad_replies_are_instrument_errors(reply: str) -> None:
    script = ModbusScript([("01 04 0000 000e", reply)])
    meter = await _meter(script)
    try:
        with pytest.raises(InstrumentError, match="hm"):
            await meter.read()
    finally:
        await meter.close()
        await script.stop()


async def test_through_pymodbus_against_the_simulator(manual_clock) -> None:
    bench = BenchModel(manual_clock)
    sim = KamstrupSim(bench)
    port = await sim.start()
    meter = KamstrupMultical("hm", f"tcp://127.0.0.1:{port}")
    try:
        await meter.connect()
        manual_clock.advance(10)
        r = await meter.read()
        assert r["flow_v1"].value == pytest.approx(bench.hydraulic.flow_meas_m3h * 1000, rel=1e-5)
        assert r["t1_supply"].quality is Quality.OK
        assert r["t3"].quality is Quality.INVALID  # not wired on the bench meter
    finally:
        await meter.close()
        await sim.stop()
