"""HIOKI PW3390: exact setup / measure bytes, sentinels, *ESR? refusals, then the simulator."""

from __future__ import annotations

import pytest

from instruments.base import ProtocolError, Quality, WriteRefused
from instruments.power_analyser.hioki_pw3390 import HiokiPW3390
from instruments.sim.hioki_pw3390 import HiokiSim
from instruments.sim.line_server import LineServer
from instruments.sim.model import BenchModel
from tests.exchange import Script, linked

SETUP = [
    (b"*CLS\r\n", None),
    (b":HEADer OFF\r\n", None),
    (b":VOLTage1:RANGe 300\r\n", None),
    (b":CURRent1:AUTO ON\r\n", None),
    (b"*ESR?\r\n", b"0\r\n"),
]
MEASURE = b":MEASure? U1,I1,P1,S1,Q1,PF1,FREQ1,WP1\r\n"
RANGES = b":VOLTage1:RANGe?;:CURRent1:RANGe?\r\n"


def pw(script: Script) -> HiokiPW3390:
    return linked(HiokiPW3390("pa", "TCPIP::x::3390::SOCKET", voltage_range=300), script)


async def test_setup_and_read_exact_bytes_with_sentinels() -> None:
    values = (
        b"+230.10E+0,+4.5000E+0,+1.0200E+3,+1.0350E+3,+175.00E+0,+0.9855E+0,+9999.9E+99,"
        b"+12.500E+0\r\n"
    )
    script = Script([*SETUP, (MEASURE, values), (RANGES, b"300;5\r\n")])
    p = pw(script)
    await p.connect()
    r = await p.read()
    assert script.done()
    assert r["P1"].value == 1020.0 and r["WH1"].value == 12.5
    assert r["F1"].quality is Quality.INVALID  # over-range display value
    assert (r["Urange1"].value, r["Irange1"].value) == (300.0, 5.0)
    assert list(r) == list(p.channels())


async def test_refusal_via_esr_and_truncated_reply() -> None:
    script = Script(
        [
            *SETUP,
            (b":INTEGrate:RESet\r\n", None),
            (b"*ESR?\r\n", b"16\r\n"),
            (MEASURE, b"+230.1E+0,+4.5E+0\r\n"),
        ]
    )
    p = pw(script)
    await p.connect()
    with pytest.raises(WriteRefused, match="ESR"):
        await p.integration_reset()
    with pytest.raises(ProtocolError, match="expected 8 values"):
        await p.read()


def test_three_phase_sigma_tokens() -> None:
    p = HiokiPW3390("pa", "x", wiring="3P4W")
    assert "P_sigma" in p.channels()
    assert p._token(next(i for i in p.items if i.channel == "P_sigma")) == "P123"


async def test_through_pyvisa_against_the_simulator(manual_clock) -> None:
    bench = BenchModel(manual_clock)
    server = LineServer(HiokiSim(bench), request_end=b"\r\n", reply_end=b"\r\n")
    port = await server.start()
    p = HiokiPW3390("pa", f"TCPIP::127.0.0.1::{port}::SOCKET", wiring="3P4W")
    try:
        await p.connect()
        assert (await p.identify()).model == "PW3390"
        await p.integration_start()
        manual_clock.advance(60)
        r = await p.read()
        assert set(r) == set(p.channels())
        assert r["P_sigma"].value == pytest.approx(
            r["P1"].value + r["P2"].value + r["P3"].value, rel=1e-4
        )
        assert all(x.quality is Quality.OK for x in r.values())
    finally:
        await p.close()
        await server.stop()
