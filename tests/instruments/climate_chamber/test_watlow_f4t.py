"""Watlow F4T: exact Modbus PDUs (low-word-first floats), sentinels, refusals, the simulator."""

from __future__ import annotations

import pytest

from instruments.base import InstrumentError, Quality, WriteRefused
from instruments.climate_chamber.watlow_f4t import WatlowF4T
from instruments.sim.modbus_devices import WatlowF4TSim
from instruments.sim.model import BenchModel
from tests.exchange import ModbusScript

READ = [
    ("01 03 0aaa 0001", "01 03 02 000a"),  # loop 1 mode: auto
    ("01 03 0ade 0002", "01 03 04 0000 41ac"),  # set point 21.5 (0x41AC0000, low word first)
    ("01 03 0afa 0002", "01 03 04 0000 41ac"),
    ("01 03 0b04 0002", "01 03 04 6666 40a6"),  # PV 5.2
    ("01 03 0b4a 0001", "01 03 02 003e"),  # loop 2 mode: off
    ("01 03 0b7e 0002", "01 03 04 0000 42ae"),  # humidity set point 87
    ("01 03 0ba4 0002", "01 03 04 0000 7fc0"),  # humidity PV: NaN
]


async def _with(script: ModbusScript, **kw: object) -> WatlowF4T:
    port = await script.start()
    chamber = WatlowF4T("air", f"tcp://127.0.0.1:{port}", timeout_s=0.5, **kw)
    await chamber.connect()
    return chamber


async def test_read_exact_pdus_and_nan_is_invalid() -> None:
    script = ModbusScript(READ)
    c = await _with(script)
    try:
        r = await c.read()
    finally:
        await c.close()
        await script.stop()
    assert script.done(), script.mismatch
    assert r["temperature"].value == pytest.approx(5.2, abs=1e-6)
    assert r["temperature_sp"].value == 21.5 and r["humidity_sp"].value == 87.0
    assert r["humidity"].quality is Quality.INVALID


async def test_set_air_and_mode_exact_pdus() -> None:
    script = ModbusScript(
        [
            ("01 10 0ade 0002 04 0000 40e0", "01 10 0ade 0002"),  # 7.0 degC
            ("01 10 0b7e 0002 04 0000 42ae", "01 10 0b7e 0002"),  # 87 %RH
            ("01 06 0b4a 000a", "01 06 0b4a 000a"),  # humidity loop auto
            ("01 10 0ade 0002 04 0000 41f0", "01 10 0ade 0002"),  # 30.0 degC, dry
            ("01 06 0b4a 003e", "01 06 0b4a 003e"),  # humidity loop off
            ("01 06 0aaa 000a", "01 06 0aaa 000a"),  # constant: loop 1 auto
            ("01 06 0aaa 003e", "01 90 03"),  # the controller refuses "off"
        ]
    )
    c = await _with(script)
    try:
        await c.set_air(7.0, 87.0)
        await c.set_air(30.0, None)
        await c.set_mode("constant")
        with pytest.raises(WriteRefused):
            await c.set_mode("standby")
        with pytest.raises(WriteRefused, match="valid range"):
            await c.set_air(500.0, None)  # refused by the map before the wire
    finally:
        await c.close()
        await script.stop()
    assert script.done(), script.mismatch


@pytest.mark.parametrize(
    "reply",
    [b"\x00\x01\x00\x00\x00\x03\x01\x03\x02", b"\x00\x01\x00\x00\x00\x05\x01\x03\x04\x00"],
    ids=["truncated", "short-body"],
)
async def test_truncated_replies_are_instrument_errors(reply: bytes) -> None:
    script = ModbusScript([(READ[0][0], reply)])
    c = await _with(script)
    try:
        with pytest.raises(InstrumentError, match="air"):
            await c.read()
    finally:
        await c.close()
        await script.stop()


@pytest.mark.parametrize("humidity_by", ["rh", "dew_point"])
async def test_through_pymodbus_against_the_simulator(manual_clock, humidity_by) -> None:
    bench = BenchModel(manual_clock)
    sim = WatlowF4TSim(bench, dew_point=humidity_by == "dew_point")
    port = await sim.start()
    c = WatlowF4T("air", f"tcp://127.0.0.1:{port}", humidity_by=humidity_by)
    try:
        await c.connect()
        await c.set_air(7.0, 87.0)
        await c.set_mode("constant")
        assert bench.chamber.mode == "CONSTANT"
        assert bench.chamber.humi_sp == pytest.approx(87.0, abs=0.5)
        manual_clock.advance(3 * 3600)
        r = await c.read()
        assert set(r) == set(c.channels())
        assert r["temperature"].value == pytest.approx(7.0, abs=0.5)
        assert r["humidity"].value == pytest.approx(87.0, abs=2.0)
    finally:
        await c.close()
        await sim.stop()
