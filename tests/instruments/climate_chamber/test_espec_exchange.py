"""ESPEC in memory: the exact lines of connect, read and set, and when the port is reopened."""

from __future__ import annotations

import pytest

from instruments.base import InstrumentTimeout, ProtocolError, Quality, WriteRefused
from instruments.climate_chamber.espec import EspecChamber
from tests.exchange import Script, linked

TYPE = (b"TYPE?\r\n", b"PT100,PT100,SCP220,60\r\n")
READ = [
    (b"MON?\r\n", b"20.5,50.0,CONSTANT,0\r\n"),
    (b"TEMP?\r\n", b"20.5,20.0,60.0,-40.0\r\n"),
    (b"HUMI?\r\n", b"50.0,OFF,98.0,10.0\r\n"),
]


def chamber(script: Script, **options: int) -> EspecChamber:
    return linked(EspecChamber("ch", "socket://x:1", **options), script)


async def test_connect_then_read_exact_lines() -> None:
    script = Script([TYPE, *READ])
    ch = chamber(script)
    await ch.connect()
    readings = await ch.read()
    assert script.done()
    assert readings["temperature"].value == 20.5 and readings["mode"].value == 2.0
    assert readings["humidity_sp"].quality is Quality.INVALID  # humidity control off


async def test_a_timeout_reopens_the_port_without_replaying_type() -> None:
    late = InstrumentTimeout("no answer", instrument="ch")
    script = Script([TYPE, (b"MON?\r\n", late)], READ)
    ch = chamber(script)
    await ch.connect()
    with pytest.raises(InstrumentTimeout):
        await ch.read()
    assert (await ch.read())["temperature"].value == 20.5
    assert script.done() and script.opened == 2


async def test_an_na_reply_keeps_the_port() -> None:
    script = Script([(b"MON?\r\n", b"NA:CMD ERR\r\n"), *READ])
    ch = chamber(script)  # no connect(): a serial line opens on the first call
    with pytest.raises(ProtocolError, match="unrecognised command"):
        await ch.read()
    assert (await ch.read())["temperature"].value == 20.5
    assert script.done() and script.opened == 1


async def test_rs485_prefix_and_a_refused_set_point() -> None:
    script = Script(
        [
            (b"3,TEMP, S75.0\r\n", b"3,NA:DATA OUT OF RANGE\r\n"),
            (b"3,TEMP, S7.0\r\n", b"3,OK:TEMP, S7.0\r\n"),
            (b"3,HUMI, S87.0\r\n", b"3,OK:HUMI, S87.0\r\n"),
        ]
    )
    ch = chamber(script, rs485_address=3)
    with pytest.raises(WriteRefused) as refused:
        await ch.set_air(75.0, 50.0)
    assert refused.value.reply == "NA:DATA OUT OF RANGE"  # type: ignore[attr-defined]
    await ch.set_air(7.0, 87.0)
    assert script.done() and script.opened == 1


async def test_a_chamber_without_humidity_is_never_asked_humi() -> None:
    script = Script([(b"TYPE?\r\n", b"PT100,SCP220,60\r\n"), *READ[:2]])
    ch = chamber(script)
    await ch.connect()
    readings = await ch.read()
    assert script.done()
    assert readings["humidity_sp"].detail == "chamber has no humidity"
