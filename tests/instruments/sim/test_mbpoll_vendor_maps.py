"""A third-party Modbus master (Debian's mbpoll) reads the new vendor simulators.

An independent check of word order and addressing: mbpoll decodes floats low word first by
default and high word first with -B, and numbers registers from 1 (its ref = wire + 1).
"""

from __future__ import annotations

import pytest

from instruments.sim.modbus_devices import DaikinSim, KamstrupSim, WatlowF4TSim
from instruments.sim.model import BenchModel
from tests.conftest import ManualClock
from tests.instruments.sim.test_mbpoll import mbpoll


async def test_f4t_floats_are_low_word_first() -> None:
    bench = BenchModel(ManualClock())
    bench.chamber.temp_sp = 21.5
    sim = WatlowF4TSim(bench)
    port = await sim.start()
    try:
        got = await mbpoll(port, "-t", "4:float", "-r", "2783", "-c", "1")  # wire 2782
        assert float(got[2783]) == 21.5
        await mbpoll(port, "-t", "4:float", "-r", "2943", write=("55.5",))  # humidity SP
        assert bench.chamber.humi_sp == 55.5
    finally:
        await sim.stop()


async def test_kamstrup_floats_are_high_word_first() -> None:
    bench = BenchModel(ManualClock())
    sim = KamstrupSim(bench)
    port = await sim.start()
    try:
        got = await mbpoll(port, "-t", "3:float", "-B", "-r", "7", "-c", "1")  # wire 6
        # t1 is the outlet sensor as last measured: float32 keeps about 7 digits
        assert float(got[7]) == pytest.approx(bench.hydraulic.outlet_meas_c, abs=1e-4)
    finally:
        await sim.stop()


async def test_daikin_one_based_numbers_and_hundredths() -> None:
    bench = BenchModel(ManualClock())
    sim = DaikinSim(bench)
    port = await sim.start()
    try:
        got = await mbpoll(port, "-t", "3", "-r", "44", "-c", "1")  # doc 44 outdoor, wire 43
        assert int(got[44]) == round(bench.heat_pump.own_outdoor_c * 100)
        await mbpoll(port, "-t", "4", "-r", "1", write=("42",))  # doc 1: leaving water SP
        assert bench.heat_pump.flow_temp_sp == 42.0
    finally:
        await sim.stop()
