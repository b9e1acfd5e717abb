"""The digital-output module's SG-Ready command: exact PDUs, the read-back, refusals, the sim."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from instruments.base import ProtocolError, Quality, WriteRefused
from instruments.io_module.modbus_outputs import ModbusDigitalOutputs
from instruments.modbus.client import ModbusWriteRejected
from instruments.sim.io_module import DigitalOutputSim
from instruments.sim.modbus_servers import Binding
from instruments.sim.model import BenchModel
from tests.exchange import ModbusScript

READ_ALL = "01 01 0000 0010"  # FC 1, coils 0-15 (CH0-CH15) in one request


async def _module(script: ModbusScript, **options: object) -> ModbusDigitalOutputs:
    port = await script.start()
    io = ModbusDigitalOutputs("io", f"tcp://127.0.0.1:{port}", timeout_s=0.5, **options)  # type: ignore[arg-type]
    await io.connect()
    return io


async def test_recommended_on_exact_pdus_off_before_on_then_read_back() -> None:
    script = ModbusScript(
        [
            ("01 05 0000 0000", "01 05 0000 0000"),  # contact 1 (CH0) opens first
            ("01 05 0001 ff00", "01 05 0001 ff00"),  # then contact 2 (CH1) closes
            (READ_ALL, "01 01 02 02 00"),  # read-back: CH1 on, the rest off
            (READ_ALL, "01 01 02 03 80"),  # a later read: CH0, CH1 and CH15 on
        ]
    )
    io = await _module(script)
    try:
        await io.set_sg_ready(3)
        r = await io.read()
    finally:
        await io.close()
        await script.stop()
    assert script.done(), script.mismatch
    assert (r["do0"].value, r["do1"].value, r["do15"].value, r["do2"].value) == (1, 1, 1, 0)
    assert r["sg_ready_state"].value == 4.0  # 1:1 forced on


async def test_outputs_are_a_driver_option() -> None:
    script = ModbusScript(
        [
            ("01 05 0004 ff00", "01 05 0004 ff00"),  # contact 1 on CH4
            ("01 05 0007 ff00", "01 05 0007 ff00"),  # contact 2 on CH7
            (READ_ALL, "01 01 02 90 00"),
        ]
    )
    io = await _module(script, sg_ready_outputs=["do4", "do7"])
    try:
        await io.set_sg_ready(4)
    finally:
        await io.close()
        await script.stop()
    assert script.done(), script.mismatch


async def test_a_read_back_that_differs_is_refused() -> None:
    script = ModbusScript(
        [
            ("01 05 0001 0000", "01 05 0001 0000"),
            ("01 05 0000 ff00", "01 05 0000 ff00"),
            (READ_ALL, "01 01 02 00 00"),  # CH0 did not close: still 2 (normal), not 1
        ]
    )
    io = await _module(script)
    try:
        with pytest.raises(WriteRefused, match=r"state 1 not confirmed.*do0 = 0, do1 = 0"):
            await io.set_sg_ready(1)
    finally:
        await io.close()
        await script.stop()
    assert script.done(), script.mismatch


@pytest.mark.parametrize(
    ("reply", "error"),
    [("01 85 02", ModbusWriteRejected), ("01 85 04", ProtocolError)],
    ids=["illegal-address", "device-failure"],
)
async def test_an_exception_reply_to_the_write_stops_the_command(
    reply: str, error: type[Exception]
) -> None:
    script = ModbusScript([("01 05 0000 0000", reply)])
    io = await _module(script)
    try:
        with pytest.raises(error, match="Modbus exception code"):
            await io.set_sg_ready(3)
    finally:
        await io.close()
        await script.stop()
    assert script.done(), script.mismatch  # nothing written after the refusal


@pytest.mark.parametrize("state", [0, 5, 2.5, True, "2"])
async def test_a_state_outside_1_to_4_never_reaches_the_wire(state: object) -> None:
    script = ModbusScript([])
    io = await _module(script)
    try:
        with pytest.raises(WriteRefused, match=r"one of 1 \(blocked\)"):
            await io.set_sg_ready(state)  # type: ignore[arg-type]
        assert io.client.requests_sent == 0
    finally:
        await io.close()
        await script.stop()


@pytest.mark.parametrize("outputs", [["do0"], ["do1", "do1"], ["do0", "do16"], "do0", ["do0", 3]])
def test_bad_output_options_are_refused_at_construction(outputs: object) -> None:
    with pytest.raises(ValueError, match="sg_ready_outputs"):
        ModbusDigitalOutputs("io", "tcp://127.0.0.1:1", sg_ready_outputs=outputs)  # type: ignore[arg-type]


async def test_an_exception_reply_to_the_read_is_an_error_not_a_state() -> None:
    script = ModbusScript([(READ_ALL, "01 81 04")])
    io = await _module(script)
    try:
        with pytest.raises(ProtocolError, match="code 4"):
            await io.read()
    finally:
        await io.close()
        await script.stop()


# -- through pymodbus against the simulator -----------------------------------------------------
async def test_every_state_through_the_simulator(manual_clock) -> None:
    sim = DigitalOutputSim(BenchModel(manual_clock))
    port = await sim.start()
    io = ModbusDigitalOutputs("io", f"tcp://127.0.0.1:{port}", sg_ready_outputs=("do2", "do3"))
    try:
        await io.connect()
        assert (await io.read())["sg_ready_state"].value == 2.0  # outputs off at power-up
        for state in (3, 1, 4, 2, 3):
            sim.writes.clear()
            await io.set_sg_ready(state)
            assert (await io.read())["sg_ready_state"].value == float(state)
        # the last change 2 -> 3 switched nothing on before CH2 was off
        assert [(w.channel, w.value) for w in sim.writes] == [("do2", 0.0), ("do3", 1.0)]
    finally:
        await io.close()
        await sim.stop()


class StuckSim(DigitalOutputSim):
    """A module whose CH1 relay is welded open: the write is acknowledged, the output stays."""

    bindings: Mapping[str, Binding] = {"do1": Binding(lambda m: 0.0, lambda m, v: None)}


async def test_a_stuck_output_is_found_by_the_read_back(manual_clock) -> None:
    sim = StuckSim(BenchModel(manual_clock))
    port = await sim.start()
    io = ModbusDigitalOutputs("io", f"tcp://127.0.0.1:{port}")
    try:
        await io.connect()
        await io.set_sg_ready(1)  # contact 2 stays open: confirmed
        with pytest.raises(WriteRefused, match="state 4 not confirmed"):
            await io.set_sg_ready(4)
        r = await io.read()
        assert r["sg_ready_state"].quality is Quality.OK and r["sg_ready_state"].value == 1.0
    finally:
        await io.close()
        await sim.stop()
