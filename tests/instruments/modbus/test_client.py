"""The generic map client against the simulators over real sockets: exchanges and error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from instruments.base import (
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    ProtocolError,
    Quality,
    WriteRefused,
)
from instruments.modbus.client import (
    ModbusExceptionError,
    ModbusMapClient,
    ModbusWriteRejected,
    parse_address,
)
from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.modbus_servers import HeatPumpSim, HydraulicModuleSim, Request
from instruments.sim.model import BenchModel, Noise
from tests.conftest import ManualClock as FrozenClock

MAPS = Path(__file__).parents[3] / "instruments" / "maps"


@pytest.fixture
def model() -> BenchModel:
    clock = FrozenClock()
    return BenchModel(clock, FaultInjector(clock), noise=Noise(0, 0, 0, 0, 0, 0))


@pytest.fixture
async def hp_sim(model: BenchModel) -> AsyncIterator[tuple[HeatPumpSim, int]]:
    sim = HeatPumpSim(model)
    port = await sim.start()
    yield sim, port
    await sim.stop()


@pytest.fixture
async def client(hp_sim: tuple[HeatPumpSim, int]) -> AsyncIterator[ModbusMapClient]:
    _, port = hp_sim
    c = ModbusMapClient("hp", f"tcp://127.0.0.1:{port}", "hpbench_sim_hp", timeout_s=1.0)
    yield c
    await c.close()


def writes(sim: HeatPumpSim | HydraulicModuleSim) -> list[Request]:
    return [r for r in sim.requests if r.is_write]


# -- addresses ----------------------------------------------------------------------------------
def test_addresses() -> None:
    assert parse_address("tcp://10.0.0.5:1502").port == 1502
    assert parse_address("tcp://10.0.0.5").port == 502
    rtu = parse_address("rtu+socket://127.0.0.1:5020")
    assert (rtu.scheme, rtu.host, rtu.port) == ("rtu+socket", "127.0.0.1", 5020)
    serial = parse_address("rtu:///dev/ttyUSB0?baudrate=9600&parity=n")
    assert serial.device == "/dev/ttyUSB0"
    assert dict(serial.serial) == {"baudrate": 9600, "parity": "N", "stopbits": 1, "bytesize": 8}
    for bad in ("udp://x:1", "tcp://:502", "rtu+socket://host", "rtu:///dev/ttyS0?speed=9600"):
        with pytest.raises(ValueError, match="Modbus address"):
            parse_address(bad)


# -- exchanges pinned ---------------------------------------------------------------------------
async def test_one_full_read_is_two_block_requests(
    client: ModbusMapClient, hp_sim: tuple[HeatPumpSim, int]
) -> None:
    sim, _ = hp_sim
    readings = await client.read()
    assert list(readings) == list(client.regmap.channels())
    assert sim.requests == [
        Request(device_id=1, function_code=3, address=0, count=4),
        Request(device_id=1, function_code=4, address=0, count=12),
    ]
    assert client.requests_sent == 2


async def test_read_value_reads_only_that_register(
    client: ModbusMapClient, hp_sim: tuple[HeatPumpSim, int]
) -> None:
    sim, _ = hp_sim
    serial = await client.read_value("serial_number")
    assert serial.value == 20250001
    assert sim.requests == [Request(1, 4, 100, 2)]


async def test_writes_use_fc6_for_one_register_and_fc16_for_two(
    client: ModbusMapClient, hp_sim: tuple[HeatPumpSim, int], model: BenchModel
) -> None:
    sim, _ = hp_sim
    await client.write("flow_temp_sp", 45.5)
    assert writes(sim) == [Request(1, 6, 2, 1, (455,))]
    assert model.heat_pump.flow_temp_sp == 45.5

    hm = HydraulicModuleSim(model)
    port = await hm.start()
    try:
        c = ModbusMapClient("hm", f"tcp://127.0.0.1:{port}", "hpbench_hm")
        await c.write("inlet_temp_sp", 21.5)
        await c.close()
    finally:
        await hm.stop()
    assert writes(hm) == [Request(1, 16, 0, 2, (0x41AC, 0x0000))]
    assert model.hydraulic.inlet_sp == 21.5


# -- writes refused before the wire -------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("outdoor_temp", 20.0, "read-only"),
        ("flow_temp_sp", 70.0, r"outside its valid range \[20, 65\] °C"),
        ("flow_temp_sp", float("nan"), "not a finite number"),
        ("mode", 7, "outside its valid range"),
        ("no_such_channel", 1.0, "no register 'no_such_channel'"),
    ],
)
async def test_bad_writes_are_refused_and_nothing_is_sent(
    client: ModbusMapClient,
    hp_sim: tuple[HeatPumpSim, int],
    model: BenchModel,
    name: str,
    value: float,
    why: str,
) -> None:
    sim, _ = hp_sim
    before = model.heat_pump.flow_temp_sp
    with pytest.raises(WriteRefused, match=why):
        await client.write(name, value)
    assert sim.requests == []
    assert client.requests_sent == 0
    assert model.heat_pump.flow_temp_sp == before


async def test_refusal_needs_no_connection_at_all() -> None:
    c = ModbusMapClient("hp", "tcp://127.0.0.1:9", "hpbench_sim_hp")  # nothing listens there
    with pytest.raises(WriteRefused, match="read-only"):
        await c.write("supply_temp", 30.0)
    assert c.requests_sent == 0


# -- the device says no -------------------------------------------------------------------------
def _widened_map(tmp_path: Path) -> Path:
    """A client-side map that believes more than the device accepts."""
    text = (MAPS / "hpbench_sim_hp.toml").read_text()
    text = text.replace("min = 20.0\nmax = 65.0", "min = 0.0\nmax = 100.0")
    text += (
        '\n[[register]]\nname = "ghost"\ntable = "holding"\naddress = 40\ntype = "uint16"\n'
        'access = "rw"\nmin = 0\nmax = 10\npoll = false\n'
    )
    path = tmp_path / "wider.toml"
    path.write_text(text)
    return path


async def test_device_refusals_are_write_refused_with_the_code(
    tmp_path: Path, hp_sim: tuple[HeatPumpSim, int], model: BenchModel
) -> None:
    sim, port = hp_sim
    c = ModbusMapClient("hp", f"tcp://127.0.0.1:{port}", _widened_map(tmp_path))
    try:
        with pytest.raises(ModbusWriteRejected, match="exception code 3") as info:
            await c.write("flow_temp_sp", 80.0)
        assert info.value.code == 3
        assert model.heat_pump.flow_temp_sp == 35.0
        with pytest.raises(ModbusWriteRejected) as info:
            await c.write("ghost", 1)
        assert info.value.code == 2
        assert isinstance(info.value, WriteRefused)
    finally:
        await c.close()
    assert [r.address for r in writes(sim)] == [2, 40]


@pytest.mark.parametrize("code", [4, 6])
async def test_modbus_exception_is_a_protocol_error_naming_the_code(
    client: ModbusMapClient, model: BenchModel, code: int
) -> None:
    assert model.faults is not None
    model.faults.inject("heat_pump", FaultKind.MODBUS_EXCEPTION, code=code)
    with pytest.raises(ModbusExceptionError, match=f"Modbus exception code {code}") as info:
        await client.read()
    assert info.value.code == code
    assert isinstance(info.value, ProtocolError)
    model.faults.clear()
    assert (await client.read())["flow_temp_sp"].value == 35.0


async def test_wrong_device_id_is_an_instrument_error(hp_sim: tuple[HeatPumpSim, int]) -> None:
    # pymodbus 3.16 answers an unknown id with exception 4 (a real RS-485 slave stays silent)
    _, port = hp_sim
    c = ModbusMapClient("hp", f"tcp://127.0.0.1:{port}", "hpbench_sim_hp", device_id=7)
    try:
        with pytest.raises(InstrumentError):
            await c.read()
    finally:
        await c.close()


# -- transport failures -------------------------------------------------------------------------
async def test_connection_refused_is_connection_lost(model: BenchModel) -> None:
    sim = HeatPumpSim(model)
    port = await sim.start()
    await sim.stop()  # the port is free again: nothing listens
    c = ModbusMapClient("hp", f"tcp://127.0.0.1:{port}", "hpbench_sim_hp", timeout_s=0.5)
    with pytest.raises(ConnectionLost, match="cannot connect"):
        await c.read()
    # the same client object works once the device is back
    sim2 = HeatPumpSim(model)
    await sim2.start(port=port)
    try:
        assert (await c.read())["on_off"].quality is Quality.OK
    finally:
        await c.close()
        await sim2.stop()


async def test_silence_is_a_timeout() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)  # take the request, never answer
        await reader.read()
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    c = ModbusMapClient("hp", f"tcp://127.0.0.1:{port}", "hpbench_sim_hp", timeout_s=0.2)
    try:
        with pytest.raises(InstrumentTimeout, match="no answer to read"):
            await c.read()
    finally:
        await c.close()
        server.close()
        await server.wait_closed()


async def test_server_closing_mid_request_is_connection_lost() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    c = ModbusMapClient("hp", f"tcp://127.0.0.1:{port}", "hpbench_sim_hp", timeout_s=5.0)
    try:
        with pytest.raises(ConnectionLost):
            await c.read()
    finally:
        await c.close()
        server.close()
        await server.wait_closed()


async def test_rtu_over_socket(hp_sim: tuple[HeatPumpSim, int], model: BenchModel) -> None:
    sim, _ = hp_sim
    port = await sim.start_rtu()
    c = ModbusMapClient("hp", f"rtu+socket://127.0.0.1:{port}", "hpbench_sim_hp")
    try:
        readings = await c.read()
        await c.write("flow_temp_sp", 50.0)
    finally:
        await c.close()
    assert readings["outdoor_temp"].value == pytest.approx(model.heat_pump.own_outdoor_c, abs=0.05)
    assert model.heat_pump.flow_temp_sp == 50.0
    assert [(r.function_code, r.address, r.count) for r in sim.requests] == [
        (3, 0, 4),
        (4, 0, 12),
        (6, 2, 1),
    ]


# -- coils and discrete inputs (no bundled map uses them; the format and both sides do) ---------
async def test_coils_and_discrete_inputs(tmp_path: Path, model: BenchModel) -> None:
    path = tmp_path / "bits.toml"
    path.write_text(
        'make = "ACME"\nmodel = "bits"\nsource = "test"\n'
        '[[register]]\nname = "relay"\ntable = "coil"\naddress = 3\ntype = "bool"\naccess = "rw"\n'
        '[[register]]\nname = "door"\ntable = "discrete"\naddress = 0\ntype = "bool"\n'
        '[[register]]\nname = "level"\ntable = "holding"\naddress = 0\ntype = "uint16"\n'
        'access = "rw"\nmin = 0\nmax = 9\n'
    )
    sim = HeatPumpSim(model, map=path)
    port = await sim.start()
    c = ModbusMapClient("bits", f"tcp://127.0.0.1:{port}", path)
    try:
        first = await c.read()
        await c.write("relay", 1)
        await c.write("level", 4)
        second = await c.read()
        with pytest.raises(WriteRefused, match="0 or 1"):
            await c.write("relay", 2)
    finally:
        await c.close()
        await sim.stop()
    assert (first["relay"].value, first["door"].value) == (0.0, 0.0)
    assert (second["relay"].value, second["level"].value) == (1.0, 4.0)
    assert [(r.function_code, r.address) for r in writes(sim)] == [(5, 3), (6, 0)]
