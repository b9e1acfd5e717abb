"""The simulated ESPEC chamber: the protocol as a pure function, and the TCP server around it."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instruments.clock import ScaledClock
from instruments.sim.espec_server import EspecProtocol, EspecServer, LineBuffer, serve_lines
from instruments.sim.model import BenchModel, Noise

T0 = 1_750_000_000.0
PRINTABLE = re.compile(r"^[\x20-\x7e]*$")


class FixedClock:
    """Bench time that stands still: the model's state only changes when a command changes it."""

    speed = 1.0

    def now(self) -> float:
        return T0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)

    def to_wall(self, bench_seconds: float) -> float:
        return bench_seconds


def quiet_model(clock: object | None = None) -> BenchModel:
    noise = Noise(air_k=0.0, humidity_pct=0.0)
    return BenchModel(clock or FixedClock(), noise=noise)  # type: ignore[arg-type]


@pytest.fixture
def chamber() -> EspecProtocol:
    return EspecProtocol(quiet_model())


# -- queries --------------------------------------------------------------------------------
def test_queries_answer_in_the_documented_format(chamber: EspecProtocol) -> None:
    assert chamber.handle("TEMP?") == "20.0,20.0,60.0,-40.0"
    assert chamber.handle("HUMI?") == "50.0,50.0,98.0,10.0"
    assert chamber.handle("MON?") == "20.0,50.0,STANDBY,0"
    assert chamber.handle("MON?,DETAIL") == "20.0,50.0,STANDBY,0"
    assert chamber.handle("MODE?") == "STANDBY"
    assert chamber.handle("ALARM?") == "0"
    assert chamber.handle("TYPE?") == "PT100,PT100,SCP220,60"
    assert chamber.handle("ROM?") == "1.20"
    assert chamber.handle("ROM?,DISP") == "1.05"


def test_replies_are_the_sensor_readings_not_the_truth() -> None:
    model = quiet_model()
    protocol = EspecProtocol(model)
    model.noise.air_k = 0.5
    model.chamber.temp_pv = 10.0
    pv = float(protocol.handle("TEMP?").split(",")[0])
    assert pv == round(model.chamber.temp_meas, 1)


def test_alarms_are_counted_and_listed(chamber: EspecProtocol) -> None:
    chamber.alarm_codes = [12, 37]
    assert chamber.handle("ALARM?") == "2,12,37"
    assert chamber.handle("MON?").endswith(",2")


def test_rs485_prefix_of_this_chamber_is_ignored_another_is_refused(
    chamber: EspecProtocol,
) -> None:
    assert chamber.handle("1,MODE?") == "STANDBY"
    assert chamber.handle("1,TEMP, S5.0") == "OK:TEMP, S5.0"
    assert chamber.handle("2,MODE?") == "NA:ADDR ERR"


# -- set commands ---------------------------------------------------------------------------
def test_temperature_set_point_with_and_without_alarm_band(chamber: EspecProtocol) -> None:
    model = chamber.model
    # The success text is unconfirmed (PROTOCOLS §2.2): the simulator echoes after `OK:`.
    assert chamber.handle("TEMP, S25.0") == "OK:TEMP, S25.0"
    assert model.chamber.temp_sp == 25.0
    assert chamber.handle("TEMP,S-7") == "OK:TEMP,S-7"
    assert model.chamber.temp_sp == -7.0
    assert chamber.handle("TEMP, S2.0 H10.0 L-5.0") == "OK:TEMP, S2.0 H10.0 L-5.0"
    assert chamber.handle("TEMP?") == "20.0,2.0,10.0,-5.0"


def test_humidity_set_point_and_off(chamber: EspecProtocol) -> None:
    assert chamber.handle("HUMI, S87.0") == "OK:HUMI, S87.0"
    assert chamber.model.chamber.humi_sp == 87.0
    assert chamber.handle("HUMI,SOFF") == "OK:HUMI,SOFF"
    assert chamber.model.chamber.humi_sp is None
    assert chamber.handle("HUMI?") == "50.0,OFF,98.0,10.0"


def test_modes_and_power(chamber: EspecProtocol) -> None:
    c = chamber.model.chamber
    assert chamber.handle("MODE, CONSTANT") == "OK:MODE, CONSTANT"
    assert c.mode == "CONSTANT"
    assert chamber.handle("MODE?") == "CONSTANT"
    assert chamber.handle("POWER, OFF") == "OK:POWER, OFF"
    assert c.mode == "OFF"
    assert chamber.handle("POWER,ON") == "OK:POWER,ON"
    assert c.mode == "STANDBY"
    assert chamber.handle("MODE,OFF") == "OK:MODE,OFF"
    assert chamber.handle("MODE, RUN1") == "NA:DATA NOT READY"  # no programs simulated
    assert c.mode == "OFF"


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("TEMP, S61.0", "NA:DATA OUT OF RANGE"),
        ("TEMP, S-40.1", "NA:DATA OUT OF RANGE"),
        ("TEMP, S20.0 H70.0", "NA:DATA OUT OF RANGE"),
        ("TEMP, S20.0 H10.0 L15.0", "NA:DATA OUT OF RANGE"),
        ("HUMI, S99.0", "NA:DATA OUT OF RANGE"),
        ("HUMI, S5", "NA:DATA OUT OF RANGE"),
        ("TEMP, SOFF", "NA:PARA ERR"),
        ("TEMP, S", "NA:PARA ERR"),
        ("TEMP, 25.0", "NA:PARA ERR"),
        ("TEMP, Sabc", "NA:PARA ERR"),
        ("TEMP", "NA:PARA ERR"),
        ("TEMP,", "NA:PARA ERR"),
        ("HUMI, SOFF H50", "NA:PARA ERR"),
        ("MODE, FAST", "NA:PARA ERR"),
        ("POWER, MAYBE", "NA:PARA ERR"),
        ("TEMP?,X", "NA:PARA ERR"),
        ("ROM?,X", "NA:PARA ERR"),
        ("FOO?", "NA:CMD ERR"),
        ("FOO, 1", "NA:CMD ERR"),
        ("temp?", "NA:CMD ERR"),
        ("", "NA:CMD ERR"),
        ("   ", "NA:CMD ERR"),
        ("TEMP?\x00", "NA:CMD ERR"),
        ("MON?\ufffd", "NA:CMD ERR"),
    ],
)
def test_errors(chamber: EspecProtocol, command: str, reply: str) -> None:
    before = (chamber.model.chamber.temp_sp, chamber.model.chamber.humi_sp)
    assert chamber.handle(command) == reply
    assert (chamber.model.chamber.temp_sp, chamber.model.chamber.humi_sp) == before


def test_data_protection_refuses_every_set_but_answers_queries(chamber: EspecProtocol) -> None:
    chamber.protect = True
    assert chamber.handle("TEMP, S5.0") == "NA:PROTECT ON"
    assert chamber.handle("MODE, CONSTANT") == "NA:PROTECT ON"
    assert chamber.model.chamber.temp_sp == 20.0
    assert chamber.handle("MODE?") == "STANDBY"


def test_chamber_without_humidity() -> None:
    protocol = EspecProtocol(quiet_model(), humidity=False)
    assert protocol.handle("HUMI?") == "NA:CONT NOT READY-1"
    assert protocol.handle("HUMI, S50.0") == "NA:CONT NOT READY-1"
    assert protocol.handle("MON?") == "20.0,,STANDBY,0"
    assert protocol.handle("TYPE?") == "PT100,SCP220,60"


def test_transcript_keeps_every_exchange(chamber: EspecProtocol) -> None:
    chamber.handle("MODE?")
    chamber.handle("BAD")
    assert chamber.transcript == [("MODE?", "STANDBY"), ("BAD", "NA:CMD ERR")]


def test_model_is_advanced_before_answering() -> None:
    model = quiet_model(ScaledClock(speed=100_000))
    protocol = EspecProtocol(model)
    assert protocol.handle("TEMP, S0.0") == "OK:TEMP, S0.0"
    assert protocol.handle("MODE, CONSTANT") == "OK:MODE, CONSTANT"
    first = float(protocol.handle("TEMP?").split(",")[0])
    for _ in range(10_000):  # bounded poll: bench time runs 100000x faster than this loop
        if float(protocol.handle("TEMP?").split(",")[0]) < first - 1.0:
            break
    else:
        pytest.fail("the chamber never moved toward its set point")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gets_a_printable_reply(line: str) -> None:
    reply = EspecProtocol(quiet_model()).handle(line)
    assert PRINTABLE.match(reply)
    assert reply


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=700), max_size=5))
def test_any_bytes_get_one_terminated_reply_per_line(chunks: list[bytes]) -> None:
    protocol, buffer = EspecProtocol(quiet_model()), LineBuffer()
    out = b"".join(serve_lines(protocol, buffer, chunk) for chunk in chunks)
    assert out.count(b"\r\n") == len(protocol.transcript)
    assert all(PRINTABLE.match(reply) for _, reply in protocol.transcript)


def test_line_buffer_framing() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"MON") == []
    assert buffer.feed(b"?\r") == []
    assert buffer.feed(b"\nTEMP?\nHUMI?\r\n\r\n") == ["MON?", "TEMP?", "HUMI?", ""]
    assert buffer.feed(b"x" * 600) == ["\ufffd"]  # over-long: dropped, answered NA:CMD ERR


# -- the TCP server -------------------------------------------------------------------------
async def _exchange(port: int, payload: bytes, lines: int) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return [await asyncio.wait_for(reader.readuntil(b"\r\n"), 2.0) for _ in range(lines)]
    finally:
        writer.close()


async def test_server_answers_pipelined_lines_and_survives_garbage() -> None:
    server = EspecServer(quiet_model())
    port = await server.start()
    try:
        replies = await _exchange(port, b"MODE?\r\n\xff\xfe\x00junk\r\n\r\n1,TEMP?\r\n", 4)
        assert replies == [
            b"STANDBY\r\n",
            b"NA:CMD ERR\r\n",
            b"NA:CMD ERR\r\n",
            b"20.0,20.0,60.0,-40.0\r\n",
        ]
        assert server.transcript[0] == ("MODE?", "STANDBY")
        assert server.transcript[-1] == ("1,TEMP?", "20.0,20.0,60.0,-40.0")
        # a client that vanishes mid-line does not take the server with it
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"MO")
        writer.close()
        assert await _exchange(port, b"ROM?\r\n", 1) == [b"1.20\r\n"]
    finally:
        await server.stop()


async def test_server_stops_with_clients_connected() -> None:
    server = EspecServer(quiet_model())
    port = await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"MODE?\r\n")
    assert await reader.readuntil(b"\r\n") == b"STANDBY\r\n"
    await asyncio.wait_for(server.stop(), 3.0)
    assert await asyncio.wait_for(reader.read(), 2.0) == b""  # the server closed our side
    writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
