"""The Modbus simulators behave like devices: raw requests, raw bytes, exceptions, faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.modbus_servers import HeatPumpSim, HydraulicModuleSim, Request
from instruments.sim.model import BenchModel, Noise
from tests.conftest import ManualClock as FrozenClock


@pytest.fixture
def model() -> BenchModel:
    clock = FrozenClock()
    return BenchModel(clock, FaultInjector(clock), noise=Noise(0, 0, 0, 0, 0, 0))


async def _raw_client(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=1, reconnect_delay=0)
    assert await client.connect()
    return client


@pytest.fixture
async def hp(model: BenchModel) -> AsyncIterator[tuple[HeatPumpSim, AsyncModbusTcpClient]]:
    sim = HeatPumpSim(model)
    client = await _raw_client(await sim.start())
    yield sim, client
    client.close()
    await sim.stop()


@pytest.fixture
async def hm(model: BenchModel) -> AsyncIterator[tuple[HydraulicModuleSim, AsyncModbusTcpClient]]:
    sim = HydraulicModuleSim(model)
    client = await _raw_client(await sim.start())
    yield sim, client
    client.close()
    await sim.stop()


def crc16(frame: bytes) -> bytes:
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


async def exchange(port: int, request: bytes, reply_len: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(reply_len), 2.0)
    finally:
        writer.close()


# -- endpoints ----------------------------------------------------------------------------------
async def test_port_zero_binds_free_ports_for_tcp_and_rtu(model: BenchModel) -> None:
    sim = HeatPumpSim(model)
    other = HydraulicModuleSim(model)
    try:
        ports = {await sim.start(), await sim.start_rtu(), await other.start()}
        assert len(ports) == 3 and 0 not in ports
    finally:
        await sim.stop()
        await other.stop()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", min(ports))


async def test_exact_mbap_exchange(model: BenchModel) -> None:
    sim = HeatPumpSim(model)
    port = await sim.start()
    try:
        # transaction 1, protocol 0, length 6, unit 1, FC4 from 0, count 1
        reply = await exchange(port, bytes.fromhex("000100000006 01 04 0000 0001"), 11)
    finally:
        await sim.stop()
    # outdoor air 20.0 degC at the chamber, the unit's sensor reads 20.4: raw 204 = 0x00CC
    assert reply == bytes.fromhex("000100000005 01 04 02 00CC")


async def test_exact_rtu_exchange_over_a_socket(model: BenchModel) -> None:
    sim = HeatPumpSim(model)
    port = await sim.start_rtu()
    try:
        request = bytes.fromhex("01 04 0000 0001")
        reply = await exchange(port, request + crc16(request), 7)
    finally:
        await sim.stop()
    body = bytes.fromhex("01 04 02 00CC")
    assert reply == body + crc16(body)
    assert sim.requests == [Request(1, 4, 0, 1)]


# -- the register space -------------------------------------------------------------------------
async def test_input_and_holding_are_separate_memory(
    hp: tuple[HeatPumpSim, AsyncModbusTcpClient],
) -> None:
    _, client = hp
    ir = await client.read_input_registers(0, count=3, device_id=1)
    hr = await client.read_holding_registers(0, count=3, device_id=1)
    assert ir.registers == [204, 203, 198]  # outdoor, supply, return (x0.1 degC)
    assert hr.registers == [0, 1, 350]  # off, heating, 35.0 degC


async def test_undefined_addresses_answer_exception_2(
    hp: tuple[HeatPumpSim, AsyncModbusTcpClient],
) -> None:
    _, client = hp
    assert (await client.read_input_registers(12, count=1, device_id=1)).exception_code == 2
    assert (await client.read_holding_registers(0, count=8, device_id=1)).exception_code == 2
    assert (await client.write_register(50, 1, device_id=1)).exception_code == 2
    assert (await client.read_coils(0, count=1, device_id=1)).exception_code == 2


async def test_gaps_inside_a_documented_block_read_zero(model: BenchModel) -> None:
    sim = HeatPumpSim(model, map="stiebel_eltron_wpm")
    client = await _raw_client(await sim.start())
    try:
        block = await client.read_input_registers(506, count=10, device_id=1)
        filler_write = await client.write_register(1503, 1, device_id=1)  # doc 1504: not mapped
    finally:
        client.close()
        await sim.stop()
    assert block.registers[0] == 204  # doc 507: outside temperature
    assert block.registers[1:6] == [0, 0, 0, 0, 0]  # doc 508..512: not in the map
    assert filler_write.exception_code == 2


async def test_values_are_fresh_on_every_request(
    hp: tuple[HeatPumpSim, AsyncModbusTcpClient], model: BenchModel
) -> None:
    _, client = hp
    assert (await client.read_input_registers(0, count=1, device_id=1)).registers == [204]
    model.chamber.temp_pv = -20.4
    assert (await client.read_input_registers(0, count=1, device_id=1)).registers == [0xFF38]


# -- writes -------------------------------------------------------------------------------------
async def test_writes_land_in_the_model(
    hp: tuple[HeatPumpSim, AsyncModbusTcpClient], model: BenchModel
) -> None:
    sim, client = hp
    assert not (await client.write_registers(0, [1, 1, 475], device_id=1)).isError()
    assert (model.heat_pump.running, model.heat_pump.mode, model.heat_pump.flow_temp_sp) == (
        True,
        1,
        47.5,
    )
    assert sim.requests[-1] == Request(1, 16, 0, 3, (1, 1, 475))
    assert (await client.read_holding_registers(2, count=1, device_id=1)).registers == [475]


@pytest.mark.parametrize(
    ("address", "raw"),
    [(2, 700), (2, 199), (2, 0x8000), (1, 7), (3, 101)],
    ids=["sp-too-high", "sp-too-low", "sp-sentinel", "mode-unknown", "demand-over-100"],
)
async def test_out_of_range_writes_answer_exception_3(
    hp: tuple[HeatPumpSim, AsyncModbusTcpClient], model: BenchModel, address: int, raw: int
) -> None:
    _, client = hp
    assert (await client.write_register(address, raw, device_id=1)).exception_code == 3
    assert (model.heat_pump.flow_temp_sp, model.heat_pump.mode) == (35.0, 1)
    assert model.heat_pump.demand_pct is None


async def test_half_of_a_32_bit_value_is_refused(
    hm: tuple[HydraulicModuleSim, AsyncModbusTcpClient], model: BenchModel
) -> None:
    _, client = hm
    assert (await client.write_register(0, 0x420E, device_id=1)).exception_code == 2
    assert model.hydraulic.inlet_sp == 30.0
    assert not (await client.write_registers(0, [0x420E, 0x0000], device_id=1)).isError()
    assert model.hydraulic.inlet_sp == 35.5


async def test_read_only_holding_register_refuses_writes(tmp_path: Path, model: BenchModel) -> None:
    path = tmp_path / "ro.toml"
    path.write_text(
        'make = "ACME"\nmodel = "ro"\nsource = "test"\n'
        '[[register]]\nname = "flow_temp_sp"\ntable = "holding"\naddress = 0\ntype = "int16"\n'
        "scale = 0.1\n"
    )
    sim = HeatPumpSim(model, map=path)
    client = await _raw_client(await sim.start())
    try:
        assert (await client.read_holding_registers(0, count=1, device_id=1)).registers == [350]
        assert (await client.write_register(0, 400, device_id=1)).exception_code == 2
    finally:
        client.close()
        await sim.stop()
    assert model.heat_pump.flow_temp_sp == 35.0


async def test_tcp_and_rtu_endpoints_share_one_device(model: BenchModel) -> None:
    sim = HeatPumpSim(model, map="stiebel_eltron_wpm")
    client = await _raw_client(await sim.start())
    rtu_port = await sim.start_rtu()
    try:
        # comfort temperature HK1 (doc 1502) has no model behind it: plain device memory
        assert (await client.read_holding_registers(1501, count=1, device_id=1)).registers == [
            0x8000
        ]
        assert not (await client.write_register(1501, 215, device_id=1)).isError()
        request = bytes.fromhex("01 03 05DD 0001")  # FC3, wire 1501, count 1
        reply = await exchange(rtu_port, request + crc16(request), 7)
    finally:
        client.close()
        await sim.stop()
    body = bytes.fromhex("01 03 02 00D7")
    assert reply == body + crc16(body)


# -- value faults -------------------------------------------------------------------------------
async def test_modbus_exception_fault_answers_every_request(
    hp: tuple[HeatPumpSim, AsyncModbusTcpClient], model: BenchModel
) -> None:
    _, client = hp
    assert model.faults is not None
    model.faults.inject("heat_pump", FaultKind.MODBUS_EXCEPTION)
    assert (await client.read_input_registers(0, count=1, device_id=1)).exception_code == 4
    assert (await client.write_register(2, 400, device_id=1)).exception_code == 4
    assert model.heat_pump.flow_temp_sp == 35.0
    model.faults.clear()
    model.faults.inject("heat_pump", FaultKind.MODBUS_EXCEPTION, code=6)
    assert (await client.read_holding_registers(0, count=1, device_id=1)).exception_code == 6
    model.faults.clear()
    model.faults.inject("heat_pump", FaultKind.MODBUS_EXCEPTION, code=99)  # not a Modbus code
    assert (await client.read_holding_registers(0, count=1, device_id=1)).exception_code == 4
    model.faults.clear()
    assert not (await client.read_input_registers(0, count=1, device_id=1)).isError()


async def test_over_range_fault_serves_sentinels(
    hp: tuple[HeatPumpSim, AsyncModbusTcpClient],
    hm: tuple[HydraulicModuleSim, AsyncModbusTcpClient],
    model: BenchModel,
) -> None:
    assert model.faults is not None
    model.faults.inject("heat_pump", FaultKind.OVER_RANGE)
    model.faults.inject("hydraulic_module", FaultKind.OVER_RANGE)
    hp_regs = (await hp[1].read_input_registers(0, count=12, device_id=1)).registers
    hm_regs = (await hm[1].read_input_registers(0, count=7, device_id=1)).registers
    assert hp_regs[0:3] == [0x8000, 0x8000, 0x8000]  # int16 temperatures
    assert hp_regs[7:11] == [0x7FC0, 0x0000, 0xFFFF, 0xFFFF]  # float32 NaN, uint32 counter
    assert hm_regs[0:6] == [0x7FC0, 0x0000] * 3  # calibrated float32 sensors: NaN
    model.faults.clear()
    assert (await hp[1].read_input_registers(0, count=1, device_id=1)).registers == [204]


async def test_the_physics_alarm_is_exposed(
    hp: tuple[HeatPumpSim, AsyncModbusTcpClient], model: BenchModel
) -> None:
    _, client = hp
    model.heat_pump.alarm_code = 31
    regs = (await client.read_input_registers(5, count=2, device_id=1)).registers
    assert regs == [0b0100, 31]  # status word: alarm bit; alarm code
    assert not (await client.write_register(4, 1, device_id=1)).isError()  # alarm reset
    assert model.heat_pump.alarm_code == 0
