"""Weiss / Vötsch simserv: exact 0xB6-separated frames, reply codes, then the simulator."""

from __future__ import annotations

import pytest

from instruments.base import ProtocolError, Quality, WriteRefused
from instruments.climate_chamber.humidity import dew_point_c
from instruments.climate_chamber.weiss_simserv import WeissSimserv
from instruments.sim.line_server import LineServer
from instruments.sim.model import BenchModel
from instruments.sim.weiss_simserv import SimservSim
from tests.exchange import Script, linked

SETUP = [(b"99997\xb61\r", b"1\xb6ClimeEvent C/340/40/3\r\n")]
READ = [
    (b"11004\xb61\xb61\r", b"1\xb67.02\r\n"),
    (b"11002\xb61\xb61\r", b"1\xb67.00\r\n"),
    (b"11004\xb61\xb62\r", b"1\xb686.9\r\n"),
    (b"11002\xb61\xb62\r", b"1\xb687.0\r\n"),
    (b"10012\xb61\r", b"1\xb63\r\n"),
]


def chamber(script: Script, **kw: object) -> WeissSimserv:
    return linked(WeissSimserv("air", "TCPIP::x::2049::SOCKET", **kw), script)


async def test_read_and_set_exact_bytes() -> None:
    script = Script(
        [
            *SETUP,
            *READ,
            (b"11001\xb61\xb61\xb67\r", b"1\r\n"),
            (b"11001\xb61\xb62\xb687\r", b"1\r\n"),
            (b"14001\xb61\xb61\xb61\r", b"1\r\n"),
        ]
    )
    c = chamber(script)
    await c.connect()
    r = await c.read()
    assert r["temperature"].value == 7.02 and r["humidity_sp"].value == 87.0
    assert r["running"].value == 1.0 and r["alarms"].value == 0.0
    await c.set_air(7.0, 87.0)
    await c.set_mode("constant")
    assert script.done()


async def test_dew_point_controller_gets_the_dew_point_of_the_rh_asked() -> None:
    dp = round(dew_point_c(20.0, 50.0), 2)  # CoolProp: 9.27 °C at 20 °C / 50 %RH
    assert dp == pytest.approx(9.27, abs=0.02)
    script = Script([*SETUP, (b"11001\xb61\xb61\xb620\r", b"1\r\n"),
                     (f"11001\xb61\xb62\xb6{dp:g}\r".encode("latin-1"), b"1\r\n")])  # fmt: skip
    c = chamber(script, humidity_by="dew_point")
    await c.connect()
    await c.set_air(20.0, 50.0)
    assert script.done()


async def test_error_codes_refuse_a_setting_and_fail_a_read() -> None:
    script = Script(
        [*SETUP, (b"11001\xb61\xb61\xb6-99\r", b"-6\r\n"), (b"11004\xb61\xb61\r", b"-8\r\n")],
        [*SETUP, *READ[:2], (b"11004\xb61\xb62\r", b"1\xb6\r\n")],
    )
    c = chamber(script)
    await c.connect()
    with pytest.raises(WriteRefused, match="incorrect parameters"):
        await c.set_air(-99.0, None)
    with pytest.raises(ProtocolError, match="could not be read"):
        await c.read()
    with pytest.raises(ProtocolError, match="not a number"):
        await c.read()  # a truncated value field


async def test_sentinel_value_is_invalid() -> None:
    read = [*READ]
    read[2] = (b"11004\xb61\xb62\r", b"1\xb6+9.9E+37\r\n")
    c = chamber(Script([*SETUP, *read]))
    await c.connect()
    assert (await c.read())["humidity"].quality is Quality.INVALID


@pytest.mark.parametrize("humidity_by", ["rh", "dew_point"])
async def test_through_pyvisa_against_the_simulator(manual_clock, humidity_by) -> None:
    bench = BenchModel(manual_clock)
    server = LineServer(
        SimservSim(bench, dew_point=humidity_by == "dew_point"),
        request_end=b"\r",
        reply_end=b"\r\n",
        encoding="latin-1",
    )
    port = await server.start()
    c = WeissSimserv("air", f"TCPIP::127.0.0.1::{port}::SOCKET", humidity_by=humidity_by)
    try:
        await c.connect()
        assert (await c.identify()).make == "Weiss Technik"
        await c.set_air(7.0, 87.0)
        await c.set_mode("constant")
        assert bench.chamber.mode == "CONSTANT"
        assert bench.chamber.humi_sp == pytest.approx(87.0, abs=0.2)
        manual_clock.advance(3 * 3600)
        r = await c.read()
        assert set(r) == set(c.channels())
        assert r["temperature"].value == pytest.approx(7.0, abs=0.5)
        assert r["humidity"].value == pytest.approx(87.0, abs=2.0)
        with pytest.raises(WriteRefused):
            await c.set_air(200.0, None)  # beyond the chamber's limits
    finally:
        await c.close()
        await server.stop()


async def test_unreadable_values_are_a_protocol_error_through_the_simulator(manual_clock) -> None:
    sim = SimservSim(BenchModel(manual_clock), unreadable=True)
    server = LineServer(sim, request_end=b"\r", reply_end=b"\r\n", encoding="latin-1")
    port = await server.start()
    c = WeissSimserv("air", f"TCPIP::127.0.0.1::{port}::SOCKET")
    try:
        await c.connect()
        with pytest.raises(ProtocolError, match="could not be read"):
            await c.read()
    finally:
        await c.close()
        await server.stop()
