"""ZES LMG670 (SHORT language): exact bytes, sentinels and refusals, then the simulator."""

from __future__ import annotations

import pytest

from instruments.base import ProtocolError, Quality, WriteRefused
from instruments.power_analyser.zes_lmg670 import ZesLMG670
from instruments.sim.line_server import LineServer
from instruments.sim.model import BenchModel
from instruments.sim.zes_lmg670 import LmgSim
from tests.exchange import Script, linked

SETUP = [
    (b"*cls\n", None),
    (b"*zlang short\n", None),
    (b"iauto1 0;irng1 10;uauto1 0;urng1 400\n", None),
    (b"*ESR?\n", b"0\n"),
]
QUERY = b"utrms1?;itrms1?;p1?;s1?;q1?;pf1?;fcyc1?;urng1?;irng1?\n"


def lmg(script: Script) -> ZesLMG670:
    return linked(
        ZesLMG670("pa", "TCPIP::x::5025::SOCKET", voltage_range=400, current_range=10), script
    )


async def test_setup_and_read_exact_bytes() -> None:
    reply = b"230.1;4.5;1020.0;1035.0;175.0;0.9855;INF;400;10\n"
    script = Script([*SETUP, (QUERY, reply)])
    d = lmg(script)
    await d.connect()
    r = await d.read()
    assert script.done()
    assert r["P1"].value == 1020.0 and r["Irange1"].value == 10.0
    assert r["F1"].quality is Quality.INVALID


async def test_garbled_reply_integration_and_cycle_refusals() -> None:
    script = Script([*SETUP, (QUERY, b"230.1;4.5;1020.0;x;175.0;0.98;50;400;10\n")], SETUP)
    d = lmg(script)
    await d.connect()
    with pytest.raises(ProtocolError, match="not a number"):
        await d.read()
    with pytest.raises(WriteRefused, match="integration"):
        await d.integration_start()
    with pytest.raises(WriteRefused, match=r"0\.05 to 60"):
        await d.set_update_rate(0.01)


async def test_through_pyvisa_against_the_simulator(manual_clock) -> None:
    bench = BenchModel(manual_clock)
    server = LineServer(LmgSim(bench))
    port = await server.start()
    d = ZesLMG670("pa", f"TCPIP::127.0.0.1::{port}::SOCKET", channels=3, current_range=20)
    try:
        await d.connect()
        assert (await d.identify()).model == "LMG670"
        manual_clock.advance(30)
        r = await d.read()
        assert set(r) == set(d.channels()) and len(r) == 27
        assert r["Irange2"].value == 20.0
        assert r["Urange3"].value in (250.0, 400.0)
        await d.set_update_rate(0.5)
    finally:
        await d.close()
        await server.stop()
