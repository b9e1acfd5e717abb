"""WT310E in memory: the exact bytes of setup, read, integration and settings, no socket."""

from __future__ import annotations

import pytest

from instruments.base import ProtocolError, Quality, WriteRefused
from instruments.power_analyser import YokogawaWT300
from tests.exchange import Script, linked

OK = b'0,"No error"\n'
ITEMS = ("U", "I", "P", "S", "Q", "LAMB", "FU", "WH", "URAN", "IRAN")


def setup(volts: bytes = b":INP:VOLT:AUTO ON\n", amps: bytes = b":INP:CURR:AUTO ON\n"):
    return [
        (b"\n*CLS\n", None),
        (b":SYST:COMM:COMM WT300\n", None),
        (b":COMM:REM ON\n", None),
        (b":COMM:HEAD OFF\n", None),
        (b":NUM:FORM ASCII\n", None),
        (volts, None),
        (amps, None),
        (b":NUM:NORM:NUM 10\n", None),
        *[(f":NUM:NORM:ITEM{n} {f},1\n".encode(), None) for n, f in enumerate(ITEMS, 1)],
        (b":STAT:ERR?\n", OK),
    ]


VALUES = b"230.0E+00,0.5E+00,100.0E+00,115.0E+00,57.0E+00,0.87E+00,50.0E+00,NAN,300,5\n"


async def test_setup_with_fixed_ranges_and_a_read() -> None:
    script = Script(
        [*setup(b":INP:VOLT:RANG 300\n", b":INP:CURR:RANG 5\n"), (b":NUM:NORM:VAL?\n", VALUES)]
    )
    pa = linked(
        YokogawaWT300("pa", "TCPIP::x::1::SOCKET", voltage_range=300, current_range=5), script
    )
    await pa.connect()
    readings = await pa.read()
    assert script.done()
    assert list(readings) == ["U", "I", "P", "S", "Q", "PF", "F", "WH", "Urange", "Irange"]
    assert readings["P"].value == 100.0 and readings["PF"].value == 0.87
    assert readings["WH"].quality is Quality.INVALID and readings["WH"].detail == "no data (NAN)"
    assert (readings["Urange"].value, readings["Irange"].value) == (300.0, 5.0)


@pytest.mark.parametrize(
    ("reply", "state"), [(b"RES\n", "reset"), (b"START\n", "start"), (b"TIM\n", "timeup")]
)
async def test_integration_state_short_and_long_forms(reply: bytes, state: str) -> None:
    script = Script([*setup(), (b":INTEG:STAT?\n", reply)])
    pa = linked(YokogawaWT300("pa", "TCPIP::x::1::SOCKET"), script)
    await pa.connect()
    assert await pa.integration_state() == state


async def test_an_unknown_integration_state_reopens_the_link() -> None:
    script = Script(
        [*setup(), (b":INTEG:STAT?\n", b"RUNNING\n")],
        [*setup(), (b":INTEG:STAT?\n", b"STOP\n")],
    )
    pa = linked(YokogawaWT300("pa", "TCPIP::x::1::SOCKET"), script)
    await pa.connect()
    with pytest.raises(ProtocolError, match=r":INTEG:STAT\? answered 'RUNNING'"):
        await pa.integration_state()
    assert await pa.integration_state() == "stop"
    assert script.done()


async def test_a_refused_rate_keeps_the_link() -> None:
    script = Script(
        [
            *setup(),
            (b":RATE 0.5\n", None),
            (b":STAT:ERR?\n", b'221,"Setting conflict"\n'),
            (b":INTEG:STOP\n", None),
            (b":STAT:ERR?\n", OK),
        ]
    )
    pa = linked(YokogawaWT300("pa", "TCPIP::x::1::SOCKET"), script)
    await pa.connect()
    with pytest.raises(WriteRefused, match=r':RATE 0.5 refused: 221,"Setting conflict"'):
        await pa.set_update_rate(0.5)
    await pa.integration_stop()
    assert script.done() and script.opened == 1
