"""DAQ970A / 34970A: exact setup and scan bytes, sentinel and loop checks, then the simulator."""

from __future__ import annotations

import pytest

from instruments.base import ProtocolError, Quality
from instruments.data_logger.keysight_daq import Keysight34970A, KeysightDAQ970A
from instruments.sim.keysight_daq import DaqSim
from instruments.sim.line_server import LineServer
from instruments.sim.model import BenchModel
from tests.exchange import Script, linked

CHANNELS = {
    "water_in": {"channel": 101, "sensor": "frtd"},
    "water_out": {"channel": 102, "sensor": "frtd"},
    "air_in": {"channel": 103, "sensor": "tc", "tc_type": "K"},
    "rh": {"channel": 121, "sensor": "current", "low": 0, "high": 100, "unit": "%"},
}
SETUP = [
    (b"*CLS\n", None),
    (b"CONF:TEMP FRTD,85,(@101,102)\n", None),
    (b"UNIT:TEMP C,(@101,102)\n", None),
    (b"CONF:TEMP TC,K,(@103)\n", None),
    (b"UNIT:TEMP C,(@103)\n", None),
    (b"CONF:CURR:DC 0.02,(@121)\n", None),
    (b"ROUT:SCAN (@101,102,103,121)\n", None),
    (b"FORM:READ:CHAN ON\n", None),
    (b"FORM:READ:TIME OFF\n", None),
    (b"TRIG:COUN 1\n", None),
    (b"SYST:ERR?\n", b'+0,"No error"\n'),
]


def daq(script: Script) -> KeysightDAQ970A:
    return linked(KeysightDAQ970A("daq", "TCPIP::x::5025::SOCKET", channels=CHANNELS), script)


async def test_setup_and_scan_exact_bytes_and_4_20ma_scaling() -> None:
    reply = b"+3.012345600E+01,101,+3.498700000E+01,102,+7.1E+00,103,+1.200000000E-02,121\n"
    script = Script([*SETUP, (b"READ?\n", reply)])
    d = daq(script)
    await d.connect()
    r = await d.read()
    assert script.done()
    assert r["water_in"].value == pytest.approx(30.123456)
    assert r["air_in"].value == 7.1
    assert r["rh"].value == pytest.approx(50.0)  # 12 mA = mid-scale of 4-20 mA
    assert r["rh"].unit == "%"


async def test_overload_and_broken_loop_are_invalid() -> None:
    reply = b"+9.90000000E+37,101,+3.4E+01,102,+7.1E+00,103,+1.0E-03,121\n"
    script = Script([*SETUP, (b"READ?\n", reply)])
    d = daq(script)
    await d.connect()
    r = await d.read()
    assert r["water_in"].quality is Quality.INVALID and "over-range" in r["water_in"].detail
    assert r["rh"].quality is Quality.INVALID and "1.000 mA" in r["rh"].detail
    assert r["water_out"].quality is Quality.OK


@pytest.mark.parametrize(
    "reply",
    [
        b"+3.0E+01,101,+3.4E+01,102\n",  # truncated: two channels missing
        b"+3.0E+01,101,+3.4E+01,105,+7.1E+00,103,+1.2E-02,121\n",  # a channel not scanned
        b"+3.0E+01,101,garbage,102,+7.1E+00,103,+1.2E-02,121\n",
    ],
    ids=["truncated", "wrong-channel", "garbled"],
)
async def test_bad_scan_replies_are_protocol_errors(reply: bytes) -> None:
    script = Script([*SETUP, (b"READ?\n", reply)])
    d = daq(script)
    await d.connect()
    with pytest.raises(ProtocolError, match="daq at"):
        await d.read()


async def test_setup_refused_is_a_protocol_error() -> None:
    setup = [*SETUP[:-1], (b"SYST:ERR?\n", b'-221,"Settings conflict"\n')]
    d = daq(Script(setup))
    with pytest.raises(ProtocolError, match="setup refused: -221"):
        await d.connect()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"channel": 111, "sensor": "frtd"}, "4-wire channel is 01-10"),
        ({"channel": 105, "sensor": "current"}, "channels 21 and 22"),
        ({"channel": 103, "sensor": "tc", "tc_type": "X"}, "tc_type"),
        ({"channel": 103, "sensor": "pt1000"}, "sensor must be"),
        ({"channel": 99, "sensor": "tc"}, "slot\\*100"),
    ],
)
def test_station_channel_table_is_checked(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KeysightDAQ970A("daq", "x", channels={"t": spec})


@pytest.mark.parametrize("cls", [KeysightDAQ970A, Keysight34970A])
async def test_through_pyvisa_against_the_simulator(manual_clock, cls) -> None:
    bench = BenchModel(manual_clock)
    bench.chamber.humi_pv = 62.0
    bench.advance()
    server = LineServer(DaqSim(bench))
    port = await server.start()
    d = cls("daq", f"TCPIP::127.0.0.1::{port}::SOCKET", channels=CHANNELS)
    try:
        await d.connect()
        assert (await d.identify()).model == "DAQ970A"
        r = await d.read()
        assert list(r) == ["water_in", "water_out", "air_in", "rh"]
        assert r["water_in"].value == pytest.approx(bench.hydraulic.inlet_c, abs=0.1)
        assert r["rh"].value == pytest.approx(62.0, abs=2.0)
        assert all(x.quality is Quality.OK for x in r.values())
    finally:
        await d.close()
        await server.stop()


async def test_simulator_serves_a_2wire_rtd_and_the_flow_transmitter(manual_clock) -> None:
    server = LineServer(DaqSim(BenchModel(manual_clock)))
    port = await server.start()
    channels = {"x": {"channel": 122, "sensor": "current"}, "y": {"channel": 104, "sensor": "rtd"}}
    d = KeysightDAQ970A("daq", f"TCPIP::127.0.0.1::{port}::SOCKET", channels=channels)
    try:
        await d.connect()
        assert set(await d.read()) == {"x", "y"}
    finally:
        await d.close()
        await server.stop()


async def test_an_open_sensor_reads_overload_through_the_simulator(manual_clock) -> None:
    sim = DaqSim(BenchModel(manual_clock), overloaded={102})
    server = LineServer(sim)
    port = await server.start()
    d = KeysightDAQ970A("daq", f"TCPIP::127.0.0.1::{port}::SOCKET", channels=CHANNELS)
    try:
        await d.connect()
        r = await d.read()
        assert r["water_out"].quality is Quality.INVALID and "over-range" in r["water_out"].detail
        assert r["water_in"].quality is Quality.OK
    finally:
        await d.close()
        await server.stop()


async def test_34970a_same_bytes_and_its_identity() -> None:
    script = Script([*SETUP, (b"*IDN?\n", b"HEWLETT-PACKARD,34970A,0,13-2-2\n")])
    d = linked(Keysight34970A("daq", "ASRL1::INSTR", channels=CHANNELS), script)
    await d.connect()
    ident = await d.identify()
    assert (ident.make, ident.model, ident.firmware) == ("HEWLETT-PACKARD", "34970A", "13-2-2")
    assert script.done()
