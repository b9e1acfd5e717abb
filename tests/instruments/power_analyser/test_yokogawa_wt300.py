"""The WT300 driver against the simulated WT310E, over real sockets, through the fault proxy."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from instruments.base import (
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    PowerAnalyser,
    ProtocolError,
    Quality,
    WriteRefused,
)
from instruments.clock import Clock, RealClock, ScaledClock
from instruments.power_analyser import YokogawaWT300
from instruments.power_analyser.yokogawa_wt300 import CHANNELS, decode_value
from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.model import BenchModel
from instruments.sim.proxy import FaultProxy
from instruments.sim.scpi_wt310 import Wt310Server

TIMEOUT_S = 0.3  # the driver's; every fault below that waits, waits this long once
POLL_LIMIT_S = 1.5

SETUP = [
    ("*CLS", None),
    (":SYST:COMM:COMM WT300", None),
    (":COMM:REM ON", None),
    (":COMM:HEAD OFF", None),
    (":NUM:FORM ASCII", None),
    (":INP:VOLT:AUTO ON", None),  # no range in the station's options: auto
    (":INP:CURR:AUTO ON", None),
    (":NUM:NORM:NUM 10", None),
    (":NUM:NORM:ITEM1 U,1", None),
    (":NUM:NORM:ITEM2 I,1", None),
    (":NUM:NORM:ITEM3 P,1", None),
    (":NUM:NORM:ITEM4 S,1", None),
    (":NUM:NORM:ITEM5 Q,1", None),
    (":NUM:NORM:ITEM6 LAMB,1", None),
    (":NUM:NORM:ITEM7 FU,1", None),
    (":NUM:NORM:ITEM8 WH,1", None),
    (":NUM:NORM:ITEM9 URAN,1", None),
    (":NUM:NORM:ITEM10 IRAN,1", None),
    (":STAT:ERR?", '0,"No error"'),
]


class Bench:
    """The simulated analyser behind its fault proxy, and a driver pointed at the proxy."""

    def __init__(self, clock: Clock) -> None:
        self.faults = FaultInjector(clock)
        self.model = BenchModel(clock, self.faults)
        self.server = Wt310Server(self.model, self.faults)
        self.proxy: FaultProxy | None = None
        self.address = ""
        self.driver: YokogawaWT300 | None = None

    async def __aenter__(self) -> Bench:
        port = await self.server.start()
        self.proxy = FaultProxy("power_analyser", ("127.0.0.1", port), self.faults, framing="line")
        self.address = f"TCPIP::127.0.0.1::{await self.proxy.start()}::SOCKET"
        self.driver = YokogawaWT300("pa1", self.address, timeout_s=TIMEOUT_S)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.driver is not None and self.proxy is not None
        await self.driver.close()
        await self.proxy.stop()
        await self.server.stop()

    @property
    def commands(self) -> list[str]:
        return [command for command, _ in self.server.transcript]


async def eventually(predicate: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(POLL_LIMIT_S):
        while True:
            if await predicate():
                return
            await asyncio.sleep(0.01)


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    async with Bench(RealClock()) as b:
        yield b


@pytest.fixture
async def pa(bench: Bench) -> YokogawaWT300:
    assert bench.driver is not None
    await bench.driver.connect()
    return bench.driver


# -- the exchange on the wire --------------------------------------------------------------
async def test_connect_sends_exactly_the_setup(bench: Bench, pa: YokogawaWT300) -> None:
    assert bench.server.transcript == SETUP
    assert isinstance(pa, PowerAnalyser)
    assert pa.role == "power_analyser"


async def test_a_read_is_one_query(bench: Bench, pa: YokogawaWT300) -> None:
    bench.server.transcript.clear()
    readings = await pa.read()
    [(command, reply)] = bench.server.transcript
    assert command == ":NUM:NORM:VAL?"
    assert reply is not None and len(reply.split(",")) == 10
    assert list(readings) == ["U", "I", "P", "S", "Q", "PF", "F", "WH", "Urange", "Irange"]
    assert {k: r.unit for k, r in readings.items()} == pa.channels()
    assert all(r.quality is Quality.OK for r in readings.values())


def test_channels_in_display_order() -> None:
    pa = YokogawaWT300("pa1", "TCPIP::127.0.0.1::1::SOCKET")
    assert pa.channels() == {
        "U": "V",
        "I": "A",
        "P": "W",
        "S": "VA",
        "Q": "var",
        "PF": "",
        "F": "Hz",
        "WH": "Wh",
        "Urange": "V",
        "Irange": "A",
    }
    assert [c.function for c in CHANNELS] == [
        *("U", "I", "P", "S", "Q", "LAMB", "FU", "WH", "URAN", "IRAN")
    ]


async def test_identify(bench: Bench, pa: YokogawaWT300) -> None:
    identity = await pa.identify()
    assert (identity.make, identity.model, identity.serial, identity.firmware) == (
        "YOKOGAWA",
        "WT310E",
        "C2SIM0001",
        "F1.03",
    )
    assert bench.server.transcript[-1] == ("*IDN?", "YOKOGAWA,WT310E,C2SIM0001,F1.03")


async def test_values_agree_with_the_model(bench: Bench, pa: YokogawaWT300) -> None:
    r = await pa.read()
    e = bench.model.electrical
    # P carries 0.05 % noise around the true power; 1 % is twenty sigma
    assert r["P"].value == pytest.approx(e.power_w, rel=0.01)
    assert r["U"].value == pytest.approx(230.0, abs=3.0)
    assert r["PF"].value == pytest.approx(e.power_factor, abs=1e-5)
    assert r["F"].value == pytest.approx(50.0, abs=0.1)
    assert r["S"].value == pytest.approx(r["U"].value * r["I"].value, rel=1e-4)
    assert r["WH"].value == 0.0  # integration is reset


async def test_concurrent_calls_are_serialised(bench: Bench, pa: YokogawaWT300) -> None:
    bench.server.transcript.clear()
    results = await asyncio.gather(*(pa.read() for _ in range(5)), pa.identify())
    assert len(results) == 6
    assert bench.commands == [":NUM:NORM:VAL?"] * 5 + ["*IDN?"]
    assert all(reply for _, reply in bench.server.transcript)


# -- sentinels -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("token", "detail"),
    [
        ("NAN", "no data (NAN)"),
        ("INF", "over-range (INF)"),
        ("-INF", "over-range (INF)"),
        ("9.91E+37", "no data (9.91E+37)"),
        ("+9.91E+37", "no data (+9.91E+37)"),
        ("9.9E+37", "over-range (9.9E+37)"),
        ("-9.9E+37", "over-range (-9.9E+37)"),
        ("1.0E+38", "over-range (1.0E+38)"),
    ],
)
def test_sentinels_decode_to_invalid(token: str, detail: str) -> None:
    reading = decode_value(token, "W")
    assert reading.quality is Quality.INVALID
    assert reading.value is None
    assert (reading.unit, reading.detail) == ("W", detail)


@pytest.mark.parametrize(
    ("token", "value"),
    [("2.30012E+02", 230.012), ("-1.50000E-03", -0.0015), ("0", 0.0), (" 12.5 ", 12.5)],
)
def test_numbers_decode(token: str, value: float) -> None:
    assert decode_value(token, "V").value == value


@pytest.mark.parametrize("token", ["", "abc", "1_0", "infinity", "nan%", "2.3E", "#$%"])
def test_garbage_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        decode_value(token, "V")


@pytest.mark.parametrize(
    ("params", "detail"), [({}, "over-range (INF)"), ({"nan": 1}, "no data (NAN)")]
)
async def test_over_range_fault_reads_invalid(
    bench: Bench, pa: YokogawaWT300, params: dict[str, float], detail: str
) -> None:
    bench.faults.inject("power_analyser", FaultKind.OVER_RANGE, **params)
    readings = await pa.read()
    ranges = {readings.pop("Urange").value, readings.pop("Irange").value}
    assert ranges == {300.0, 0.5}  # the range itself is still known
    assert all(r.quality is Quality.INVALID for r in readings.values())
    assert all(r.value is None and r.detail == detail for r in readings.values())
    bench.faults.clear()
    assert all(r.quality is Quality.OK for r in (await pa.read()).values())


# -- protocol errors -----------------------------------------------------------------------
async def test_wrong_item_count_is_a_protocol_error_and_the_next_call_resets_up(
    bench: Bench, pa: YokogawaWT300
) -> None:
    bench.server.handle_line(":NUM:NORM:NUM 9")  # someone changed it on the front panel
    with pytest.raises(ProtocolError, match="expected 10 values, got 9"):
        await pa.read()
    bench.server.transcript.clear()
    assert all(r.quality is Quality.OK for r in (await pa.read()).values())
    assert bench.server.transcript[:-1] == SETUP  # a fresh session, set up again
    assert bench.commands[-1] == ":NUM:NORM:VAL?"


async def test_setup_refused_by_the_instrument_fails_connect(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An analyser that lacks one of our functions: connect must not pretend to succeed."""
    handle = bench.server.handle_line

    def without_lambda(line: str) -> bytes | None:
        return handle(line.replace("LAMB,1", "WATTS,1"))

    monkeypatch.setattr(bench.server, "handle_line", without_lambda)
    assert bench.driver is not None
    with pytest.raises(ProtocolError, match='setup refused: 141,"Invalid character data"') as exc:
        await bench.driver.connect()
    assert (exc.value.instrument, exc.value.address) == ("pa1", bench.address)


# -- integration and settings --------------------------------------------------------------
async def test_integration_through_the_driver() -> None:
    async with Bench(ScaledClock(speed=600)) as b:
        pa = b.driver
        assert pa is not None
        await pa.connect()
        assert await pa.integration_state() == "reset"
        await pa.integration_start()
        assert await pa.integration_state() == "start"

        async def wh() -> float:
            value = (await pa.read())["WH"].value
            assert value is not None
            return value

        async def grew() -> bool:
            return await wh() > 0.05

        await eventually(grew)  # standby power at 600x: a few Wh per wall second
        await pa.integration_stop()
        frozen = await wh()
        assert await wh() == frozen
        # an illegal transition is refused by the instrument (queued SCPI error), not a crash
        with pytest.raises(WriteRefused, match=r':INTEG:STOP refused: 221,"Setting conflict"'):
            await pa.integration_stop()
        assert (":STAT:ERR?", '221,"Setting conflict"') in b.server.transcript
        assert await wh() == frozen  # and the session carries on
        await pa.integration_reset()
        assert await wh() == 0.0
        assert await pa.integration_state() == "reset"


async def test_update_rate(bench: Bench, pa: YokogawaWT300) -> None:
    await pa.set_update_rate(0.5)
    assert bench.server.rate_s == 0.5
    assert bench.server.transcript[-2:] == [(":RATE 0.5", None), (":STAT:ERR?", '0,"No error"')]
    sent = len(bench.server.transcript)
    with pytest.raises(WriteRefused, match=r"update rate 0.3 s is not one of 0.1, 0.25"):
        await pa.set_update_rate(0.3)
    assert len(bench.server.transcript) == sent  # refused before the wire
    await pa.integration_start()
    with pytest.raises(WriteRefused, match="221"):  # the WT freezes settings while integrating
        await pa.set_update_rate(1)
    assert bench.server.rate_s == 0.5


# -- the link ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        # the proxy closes the connection when the query arrives: the read sees EOF
        (FaultKind.DROP, {}, ConnectionLost),
        # the reply comes 1 s late, past the driver's 0.3 s timeout
        (FaultKind.DELAY, {"seconds": 1.0}, InstrumentTimeout),
        # the proxy's line garble keeps the LF, so a whole but wrong line arrives: never a
        # timeout here (a garble that ate the LF would read as InstrumentTimeout instead)
        (FaultKind.GARBLE, {}, ProtocolError),
    ],
)
async def test_transport_faults_then_recovery(
    bench: Bench,
    pa: YokogawaWT300,
    kind: FaultKind,
    params: dict[str, float],
    expected: type[InstrumentError],
) -> None:
    await pa.read()
    bench.faults.inject("power_analyser", kind, **params)
    for _ in range(2):  # on the open session, then on the reconnect attempt
        with pytest.raises(InstrumentError) as exc:
            await pa.read()
        assert isinstance(exc.value, expected), repr(exc.value)
        assert (exc.value.instrument, exc.value.address) == ("pa1", bench.address)
    bench.faults.clear()
    bench.server.transcript.clear()
    readings = await pa.read()  # the same driver object, reconnected
    assert all(r.quality is Quality.OK for r in readings.values())
    assert bench.server.transcript[: len(SETUP)] == SETUP


async def test_the_loop_keeps_running_while_a_call_waits(bench: Bench, pa: YokogawaWT300) -> None:
    bench.faults.inject("power_analyser", FaultKind.DELAY, seconds=1.0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    with pytest.raises(InstrumentTimeout):
        await pa.read()
    task.cancel()
    assert ticks >= 5  # 0.3 s of waiting in a thread; a blocked loop would tick once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_refused_connection_is_connection_lost() -> None:
    address = f"TCPIP::127.0.0.1::{_free_port()}::SOCKET"
    pa = YokogawaWT300("pa9", address, timeout_s=TIMEOUT_S)
    with pytest.raises(ConnectionLost, match="refused") as exc:
        await pa.connect()
    assert (exc.value.instrument, exc.value.address) == ("pa9", address)
    with pytest.raises(ConnectionLost):  # still wanted: every call tries again
        await pa.read()
    await pa.close()


async def test_a_bad_address_is_an_instrument_error() -> None:
    pa = YokogawaWT300("pa9", "NOT A VISA ADDRESS")
    with pytest.raises(
        InstrumentError, match="pa9 at NOT A VISA ADDRESS: not a VISA resource"
    ) as exc:
        await pa.connect()
    assert not isinstance(exc.value, ConnectionLost)  # a typo in the station file, not a link
    await pa.close()


async def test_close_is_idempotent_and_final(bench: Bench, pa: YokogawaWT300) -> None:
    await pa.close()
    await pa.close()
    with pytest.raises(ConnectionLost, match="not connected"):
        await pa.read()
    await pa.connect()  # but connect() opens it again
    assert (await pa.read())["U"].quality is Quality.OK


async def test_closing_one_driver_leaves_another_working(bench: Bench, pa: YokogawaWT300) -> None:
    """pyvisa shares one resource manager per process; a driver must not close it."""
    other = YokogawaWT300("pa2", bench.address, timeout_s=TIMEOUT_S)
    await other.connect()
    await other.close()
    assert (await pa.read())["U"].quality is Quality.OK


# -- ranges ----------------------------------------------------------------------------------
async def test_ranges_from_the_options_are_sent_and_read_back_with_every_read() -> None:
    """Standby draws ~0.12 A at 230 V: auto would pick 300 V / 0.5 A; the options fix them."""
    async with Bench(RealClock()) as b:
        pa = YokogawaWT300("pa1", b.address, voltage_range=600, current_range=20)
        await pa.connect()
        try:
            fixed = [(":INP:VOLT:RANG 600", None), (":INP:CURR:RANG 20", None)]
            assert b.server.transcript == [*SETUP[:5], *fixed, *SETUP[7:]]
            readings = await pa.read()
            assert (readings["Urange"].value, readings["Irange"].value) == (600.0, 20.0)
            assert (readings["Urange"].unit, readings["Irange"].unit) == ("V", "A")
            b.server.handle_line(":INP:CURR:RANG 10")  # changed on the front panel
            assert (await pa.read())["Irange"].value == 10.0  # each read says which
        finally:
            await pa.close()


async def test_a_fixed_range_too_small_reads_over_range_with_its_range() -> None:
    async with Bench(RealClock()) as b:
        pa = YokogawaWT300("pa1", b.address, voltage_range=150)  # 230 V > 1.4 x 150 V
        await pa.connect()
        try:
            readings = await pa.read()
            assert readings["U"].quality is Quality.INVALID and "over-range" in readings["U"].detail
            assert readings["Urange"].value == 150.0
        finally:
            await pa.close()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"voltage_range": 250}, "voltage range 250 is not one of 15, 30, 60, 150, 300, 600"),
        ({"current_range": 40}, "current range 40 is not one of 0.5, 1, 2, 5, 10, 20"),
    ],
)
def test_a_range_the_wt310e_lacks_is_refused_before_the_wire(option, message) -> None:
    with pytest.raises(ValueError, match=message):
        YokogawaWT300("pa1", "TCPIP::127.0.0.1::1::SOCKET", **option)
