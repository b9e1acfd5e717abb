"""The simulated WT310E, spoken to over a real socket the way the instrument is."""

from __future__ import annotations

import asyncio
import math
import re
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from instruments.clock import Clock, RealClock, ScaledClock
from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.model import BenchModel
from instruments.sim.scpi_wt310 import Wt310Server, nr3

NR3 = re.compile(r"-?\d\.\d{5}E[+-]\d{2}")
POLL_LIMIT_S = 1.5


class Client:
    """A bare SCPI client: what a terminal program on the lab PC would do."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Client:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, line: str | bytes, end: bytes = b"\n") -> None:
        self.writer.write((line.encode() if isinstance(line, str) else line) + end)
        await self.writer.drain()

    async def query(self, line: str, end: bytes = b"\n") -> str:
        await self.send(line, end)
        reply = await asyncio.wait_for(self.reader.readline(), 1.0)
        assert reply.endswith(b"\n")
        return reply[:-1].decode("latin-1")

    async def errors(self) -> list[str]:
        """Drain the error queue."""
        out = []
        while (reply := await self.query(":STAT:ERR?")) != '0,"No error"':
            out.append(reply)
        return out

    async def close(self) -> None:
        self.writer.close()


class Sim:
    def __init__(self, clock: Clock, serial: str = "C2SIM0001") -> None:
        self.clock = clock
        self.faults = FaultInjector(clock)
        self.model = BenchModel(clock, self.faults)
        self.server = Wt310Server(self.model, self.faults, serial=serial)
        self.port = 0

    async def __aenter__(self) -> Sim:
        self.port = await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop()


async def eventually(predicate: Callable[[], Awaitable[bool]]) -> None:
    """Poll an async predicate until it holds; fail after POLL_LIMIT_S wall seconds."""
    async with asyncio.timeout(POLL_LIMIT_S):
        while True:
            if await predicate():
                return
            await asyncio.sleep(0.01)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with Sim(RealClock()) as s:
        yield s


@pytest.fixture
async def client(sim: Sim) -> AsyncIterator[Client]:
    c = await Client.open(sim.port)
    await c.send(":COMM:HEAD OFF")
    yield c
    await c.close()


async def test_identity() -> None:
    async with Sim(RealClock(), serial="C2PH13047V") as s:
        c = await Client.open(s.port)
        assert await c.query("*IDN?") == "YOKOGAWA,WT310E,C2PH13047V,F1.03"
        assert s.server.transcript == [("*IDN?", "YOKOGAWA,WT310E,C2PH13047V,F1.03")]
        await c.close()


async def test_short_long_and_mixed_case_forms_are_one_command(client: Client) -> None:
    await client.send(":NUM:NORM:NUM 3")
    forms = (":NUM:NORM:VAL?", ":NUMERIC:NORMAL:VALUE?", ":numeric:norm:val?", ":NUM:VAL?")
    for form in forms:
        assert len((await client.query(form)).split(",")) == 3
    # an omitted <x> means 1
    assert await client.query(":NUM:NORM:ITEM?") == await client.query(":NUM:NORM:ITEM1?")
    assert await client.query(":numeric:normal:item2?") == "I,1"
    assert await client.errors() == []


async def test_crlf_compound_lines_and_relative_paths(sim: Sim, client: Client) -> None:
    assert await client.query(":RATE 1;:RATE?", end=b"\r\n") == "1.00000E+00"
    # a command without a leading colon continues the previous one's path
    assert await client.query(":INTEG:MODE NORM;TIM 0,0,10;:INTEG:TIM?") == "0,0,10"
    # the replies of several queries on one line form one message, joined by ;
    assert await client.query("*OPT?;:NUM:FORM?;:INTEG:STAT?") == "0;ASC;RES"
    assert ("TIM 0,0,10", None) in sim.server.transcript
    assert await client.errors() == []


async def test_leading_newline_clear(sim: Sim, client: Client) -> None:
    await client.send(":NO:SUCH")  # leaves an error behind
    assert await client.query("*OPC?") == "1"  # ... once the server has read it
    sim.server.transcript.clear()
    await client.send("\n*CLS")
    assert await client.query(":STAT:ERR?") == '0,"No error"'
    assert sim.server.transcript == [("*CLS", None), (":STAT:ERR?", '0,"No error"')]


async def test_headers_and_verbose_replies(sim: Sim) -> None:
    c = await Client.open(sim.port)
    assert await c.query(":COMM:HEAD?") == ":COMM:HEAD 1"  # headers are on until turned off
    assert await c.query(":RATE?") == ":RATE 2.50000E-01"
    await c.send(":COMM:VERB ON")
    assert await c.query(":NUM:FORM?") == ":NUMERIC:FORMAT ASCII"
    assert await c.query(":NUM:NORM:ITEM6?") == ":NUMERIC:NORMAL:ITEM6 LAMBDA,1"
    # numeric data and common queries never carry a header
    assert not (await c.query(":NUM:NORM:VAL?")).startswith(":")
    assert (await c.query("*IDN?")).startswith("YOKOGAWA,")
    await c.send(":COMM:HEAD OFF;VERB OFF")
    assert await c.query(":COMM:HEAD?;VERB?") == "0;0"
    await c.close()


async def test_bad_commands_queue_errors_and_the_connection_lives_on(client: Client) -> None:
    await client.send(":NO:SUCH:THING")
    await client.send(":RATE 3")
    await client.send(":NUM:NORM:ITEM11 U,1")
    await client.send(":NUM:NORM:NUM 11")
    await client.send(":NUM:NORM:ITEM1 WATTS,1")
    await client.send(":NUM:NORM:ITEM1 U,2")  # the WT310 has one element
    await client.send(b"\xff\xfe\x00 garbage")
    assert await client.errors() == [
        '113,"Undefined header"',
        '224,"Illegal parameter value"',
        '114,"Header suffix out of range"',
        '222,"Data out of range"',
        '141,"Invalid character data"',
        '222,"Data out of range"',
        '102,"Syntax error"',
    ]
    assert (await client.query("*IDN?")).startswith("YOKOGAWA,WT310E,")


async def test_error_queue_overflows_into_350(client: Client) -> None:
    for _ in range(40):
        await client.send(":NO:SUCH")
    errors = await client.errors()
    assert len(errors) == 16
    assert errors[-1] == '350,"Queue overflow"'


async def test_values_are_nr3_of_the_model_at_the_instant_of_the_reply(
    sim: Sim, client: Client
) -> None:
    reply = await client.query(":NUM:NORM:VAL?")
    tokens = reply.split(",")
    assert len(tokens) == 10  # the default item list
    assert all(NR3.fullmatch(t) for t in tokens), reply
    # the server advanced the model just before answering, so its state is what was sent
    e = sim.model.electrical
    phi = math.degrees(math.acos(e.power_factor))
    expected = [e.voltage_v, e.current_a, e.power_meas_w, e.apparent_va, e.reactive_var]
    expected += [e.power_factor, phi, e.frequency_hz, e.frequency_hz, 0.0]
    assert tokens == [nr3(v) for v in expected]
    assert nr3(230.0123) == "2.30012E+02"


async def test_none_time_and_range_items(client: Client) -> None:
    await client.send(":NUM:NORM:NUM 5;ITEM1 NONE;ITEM2 TIME,1;ITEM3 URAN,1;ITEM4 IRAN;ITEM5 MATH")
    assert await client.errors() == []
    assert await client.query(":NUM:NORM:ITEM1?") == "NONE"
    # standby: 230 V, ~0.12 A; MATH is not set up, so its data do not exist
    assert await client.query(":NUM:NORM:VAL?") == "NAN,0,3.00000E+02,5.00000E-01,NAN"
    assert await client.query(":NUM:NORM:VAL? 3") == "3.00000E+02"


async def test_over_range_fault_reads_inf_then_nan(sim: Sim, client: Client) -> None:
    await client.send(":NUM:NORM:NUM 4;ITEM1 U;ITEM2 P;ITEM3 URAN;ITEM4 TIME")
    fault = sim.faults.inject("power_analyser", FaultKind.OVER_RANGE)
    assert await client.query(":NUM:NORM:VAL?") == "INF,INF,3.00000E+02,0"
    sim.faults.clear()
    sim.faults.inject("power_analyser", FaultKind.OVER_RANGE, nan=1)
    assert await client.query(":NUM:NORM:VAL?") == "NAN,NAN,3.00000E+02,0"
    sim.faults.clear()
    assert fault.cleared_at is not None
    assert all(NR3.fullmatch(t) for t in (await client.query(":NUM:NORM:VAL?")).split(",")[:3])


async def test_float_format_is_a_definite_length_block(sim: Sim, client: Client) -> None:
    await client.send(":NUM:FORM FLOAT;:NUM:NORM:NUM 3;ITEM1 U;ITEM2 P;ITEM3 NONE")

    async def values() -> tuple[float, ...]:
        await client.send(":NUM:NORM:VAL?")
        head = await client.reader.readexactly(6)
        assert head == b"#40012"
        data = await client.reader.readexactly(12)
        assert await client.reader.readexactly(1) == b"\n"
        return struct.unpack(">3f", data)

    u, p, none = await values()
    e = sim.model.electrical
    assert u == pytest.approx(e.voltage_v, rel=1e-6)
    assert p == pytest.approx(e.power_meas_w, rel=1e-6)
    assert none == pytest.approx(9.91e37, rel=1e-6)
    sim.faults.inject("power_analyser", FaultKind.OVER_RANGE)
    u, p, none = await values()
    assert (u, p) == pytest.approx((9.9e37, 9.9e37), rel=1e-6)
    assert none == pytest.approx(9.91e37, rel=1e-6)


async def test_integration_state_machine_and_energy() -> None:
    async with Sim(ScaledClock(speed=600)) as s:
        c = await Client.open(s.port)
        await c.send(":COMM:HEAD OFF;:NUM:NORM:NUM 2;ITEM1 WH;ITEM2 TIME")

        async def wh_time() -> tuple[float, float]:
            wh, t = (await c.query(":NUM:NORM:VAL?")).split(",")
            return float(wh), float(t)

        assert await c.query(":INTEG:STAT?") == "RES"
        await c.send(":INTEG:STOP")  # stop is only allowed while started
        assert await c.errors() == ['221,"Setting conflict"']

        await c.query(":INTEG:STAR;*OPC?")  # a round trip: the server has acted on it
        energy_at_start = s.model.electrical.energy_wh
        assert await c.query(":INTEG:STAT?") == "STAR"

        async def grew() -> bool:
            return (await wh_time())[0] > 0.05

        await eventually(grew)  # standby power, 600x time: a few Wh per wall second
        await c.send(":INTEG:STAR")  # already started
        await c.send(":RATE 1")  # settings are frozen unless integration is reset
        await c.send(":INTEG:RES")  # reset is refused while integration runs
        assert await c.errors() == ['221,"Setting conflict"'] * 3

        await c.query(":INTEG:STOP;*OPC?")
        energy_at_stop = s.model.electrical.energy_wh
        wh, elapsed = await wh_time()
        assert wh == pytest.approx(energy_at_stop - energy_at_start, rel=1e-5)
        assert elapsed > 0
        assert await wh_time() == (wh, elapsed)  # frozen while stopped
        assert await c.query(":INTEG:STAT?") == "STOP"

        await c.send(":INTEG:STAR")  # resume from stop
        await eventually(lambda: _greater(wh_time, wh))
        await c.send(":INTEG:STOP;:INTEG:RES")
        assert await c.query(":INTEG:STAT?;:NUM:NORM:VAL?") == "RES;0.00000E+00,0"
        assert await c.errors() == []
        await c.close()


async def _greater(read: Callable[[], Awaitable[tuple[float, float]]], wh: float) -> bool:
    return (await read())[0] > wh


async def test_integration_timer_ends_in_timeup() -> None:
    async with Sim(ScaledClock(speed=600)) as s:
        c = await Client.open(s.port)
        await c.send(":COMM:HEAD OFF;:INTEG:MODE NORM;TIM 0,0,30;:NUM:NORM:NUM 1;ITEM1 TIME")
        await c.send(":INTEG:STAR")

        async def timed_up() -> bool:
            return await c.query(":INTEG:STAT?") == "TIM"

        await eventually(timed_up)
        assert await c.query(":NUM:NORM:VAL?") == "30"
        await c.send(":INTEG:STAR")  # time-up is neither reset nor stop
        await c.send(":INTEG:MODE CONT")  # nor may the mode change before a reset
        assert await c.errors() == ['221,"Setting conflict"'] * 2
        await c.close()


async def test_rst_restores_defaults(client: Client) -> None:
    await client.send(":RATE 5;:NUM:NORM:NUM 1;:NUM:FORM FLOAT")
    await client.send("*RST")
    assert await client.query(":RATE?;:NUM:NORM:NUM?;:NUM:FORM?") == "2.50000E-01;10;ASC"
    assert await client.query(":COMM:HEAD?") == "0"  # communication settings survive *RST


async def test_status_commands_are_accepted(client: Client) -> None:
    await client.send(":STAT:FILT1 FALL;:STAT:QMES ON;:COMM:WAIT 1;:COMM:REM;:SYST:COMM:COMM WT300")
    assert int(await client.query(":STAT:EESR?")) in range(4)
    assert await client.query(":COMM:REM?") == "1"
    assert await client.errors() == []


async def test_stop_closes_open_connections(sim: Sim, client: Client) -> None:
    await sim.server.stop()
    assert await asyncio.wait_for(client.reader.read(), 1.0) == b""
    with pytest.raises(OSError):
        await Client.open(sim.port)


async def test_a_plain_pyvisa_session_gets_idn_and_values(sim: Sim) -> None:
    """Acceptance: a plain pyvisa session gets *IDN? and :NUM:NORM:VAL?."""
    import pyvisa

    def session() -> tuple[str, str]:
        rm = pyvisa.ResourceManager("@py")
        inst = rm.open_resource(
            f"TCPIP::127.0.0.1::{sim.port}::SOCKET",
            read_termination="\n",
            write_termination="\n",
            timeout=1000,
        )
        try:
            inst.write(":COMM:HEAD OFF")
            return inst.query("*IDN?"), inst.query(":NUM:NORM:VAL?")
        finally:
            inst.close()  # not rm.close(): the manager is shared by the whole process

    idn, values = await asyncio.to_thread(session)  # pyvisa blocks; the server needs the loop
    assert idn == "YOKOGAWA,WT310E,C2SIM0001,F1.03"
    assert len(values.split(",")) == 10
    assert all(NR3.fullmatch(v) for v in values.split(","))


async def test_ranges_set_fixed_or_auto_read_back_and_over_range(sim: Sim, client: Client) -> None:
    """Standby: 230 V, ~0.12 A (auto: 300 V, 0.5 A); a fixed range is what URAN/IRAN and
    the range queries then report, and an input beyond 140 % of it reads over-range."""
    await client.send(":COMM:HEAD OFF;:NUM:NORM:NUM 3;ITEM1 U;ITEM2 URAN;ITEM3 IRAN")
    assert await client.query(":INP:VOLT:AUTO?;:INP:CURR:AUTO?") == "1;1"
    assert await client.query(":INP:VOLT:RANG?;:INP:CURR:RANG?") == "3.00000E+02;5.00000E-01"
    await client.send(":INPUT:VOLTAGE:RANGE 600V;:INP:CURR:RANG 20")
    assert await client.query(":INP:VOLT:AUTO?;:INP:CURR:AUTO?") == "0;0"
    u, u_range, i_range = (await client.query(":NUM:NORM:VAL?")).split(",")
    assert NR3.fullmatch(u) and (u_range, i_range) == ("6.00000E+02", "2.00000E+01")
    await client.send(":INP:VOLT:RANG 150")  # 230 V > 1.4 x 150 V
    assert await client.query(":NUM:NORM:VAL?") == "INF,1.50000E+02,2.00000E+01"
    await client.send(":INP:VOLT:AUTO ON")
    assert await client.query(":INP:VOLT:RANG?") == "3.00000E+02"
    await client.send(":INP:VOLT:RANG 250")  # not a WT310E range
    assert await client.errors() == ['224,"Illegal parameter value"']


async def test_ranges_are_frozen_while_integrating(client: Client) -> None:
    await client.send(":COMM:HEAD OFF;:INTEG:STAR;:INP:CURR:RANG 5;:INP:VOLT:AUTO ON")
    assert await client.errors() == ['221,"Setting conflict"'] * 2
    assert await client.query(":INP:CURR:AUTO?") == "1"
