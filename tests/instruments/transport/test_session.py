"""The shared line session on real sockets: lost link, reconnect and setup replay, no blocking."""

from __future__ import annotations

import asyncio
import socket

import pytest

from instruments.base import ConnectionLost, InstrumentError, InstrumentTimeout
from instruments.power_analyser.yokogawa_wt import WT_MODELS, YokogawaWT333E
from instruments.sim.line_server import LineServer
from instruments.sim.model import BenchModel
from instruments.sim.yokogawa_wt import WtSim
from instruments.transport.session import LineSession
from tests.exchange import Script


async def test_link_lost_then_back_replays_the_setup(manual_clock) -> None:
    bench = BenchModel(manual_clock)
    server = LineServer(WtSim(bench, WT_MODELS["WT333E"]))
    port = await server.start()
    pa = YokogawaWT333E("pa", f"TCPIP::127.0.0.1::{port}::SOCKET", wiring="3P4W", timeout_s=0.5)
    await pa.connect()
    await pa.read()
    await server.stop()
    with pytest.raises((ConnectionLost, InstrumentTimeout)):
        await pa.read()
    with pytest.raises(ConnectionLost, match="pa at"):
        await pa.read()  # still down: refused, said at once
    sim = WtSim(bench, WT_MODELS["WT333E"])
    server = LineServer(sim)
    await server.start(port=port)
    try:
        readings = await pa.read()
        assert "P_sigma" in readings
        sent = [request for request, _ in server.transcript]
        assert ":INP:WIR P3W4" in sent and sent[-1] == ":NUM:NORM:VAL?"
        assert sim.wiring == ("P3W4",)  # the new instrument got the station's setup
    finally:
        await pa.close()
        await server.stop()


async def test_a_silent_instrument_times_out_without_blocking_the_loop() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    port = listener.getsockname()[1]
    pa = YokogawaWT333E("pa", f"TCPIP::127.0.0.1::{port}::SOCKET", timeout_s=0.3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        with pytest.raises(InstrumentTimeout, match=r"no reply in 0\.3 s"):
            await pa.connect()
    finally:
        task.cancel()
        listener.close()
    assert ticks >= 10  # the loop kept running while the worker thread waited


async def test_calls_before_connect_and_after_close_are_refused() -> None:
    session = LineSession("x", "addr", setup=lambda s: None)
    session.use_link(Script([]))
    with pytest.raises(ConnectionLost, match="connect"):
        await session.call(lambda s: s.query("*IDN?"))
    await session.open()
    await session.close()
    with pytest.raises(InstrumentError):
        await session.call(lambda s: None)


def test_a_bad_resource_name_is_one_clear_error() -> None:
    pa = YokogawaWT333E("pa", "not a resource")

    async def run() -> None:
        await pa.connect()

    with pytest.raises(InstrumentError, match="pa at not a resource: not a VISA resource"):
        asyncio.run(run())


async def test_a_timeout_changed_after_construction_applies_on_the_next_connect() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    pa = YokogawaWT333E("pa", f"TCPIP::127.0.0.1::{listener.getsockname()[1]}::SOCKET")
    pa.timeout_s = 0.3  # the acquisition tests shorten a built driver's timeout this way
    try:
        with pytest.raises(InstrumentTimeout, match=r"no reply in 0\.3 s"):
            await pa.connect()
    finally:
        await pa.close()
        listener.close()


async def test_on_demand_session_opens_without_open_and_reopens_after_close() -> None:
    script = Script([(b"*IDN?\n", b"A,B,C,D\n")], [(b"*IDN?\n", b"A,B,C,D\n")])
    session = LineSession("x", "addr", setup=lambda s: None, on_demand=True)
    session.use_link(script)
    assert await session.call(lambda s: s.query("*IDN?")) == "A,B,C,D"
    await session.close()
    assert await session.call(lambda s: s.query("*IDN?")) == "A,B,C,D"
    assert script.done()
