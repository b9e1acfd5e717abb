"""The fault proxy and the pty bridge, against a plain line-echo server."""

import asyncio
import contextlib
import random

import pytest
import serial

from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.proxy import FaultProxy, PtyBridge, garble


@pytest.fixture
async def echo_port():
    async def handle(reader, writer):
        while line := await reader.readline():
            writer.write(b"echo:" + line)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


@pytest.fixture
async def proxied(echo_port, manual_clock):
    faults = FaultInjector(manual_clock)
    proxy = FaultProxy("climate_chamber", ("127.0.0.1", echo_port), faults, framing="line")
    port = await proxy.start()
    yield port, faults
    await proxy.stop()


async def ask(port: int, line: bytes, wait_s: float = 1.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(line)
        return await asyncio.wait_for(reader.readline(), wait_s)
    finally:
        writer.close()


async def test_passes_bytes_through_untouched(proxied):
    port, _ = proxied
    assert await ask(port, b"TEMP?\r\n") == b"echo:TEMP?\r\n"


async def test_drop_closes_connections(proxied):
    port, faults = proxied
    faults.inject("climate_chamber", FaultKind.DROP)
    # closed without an answer: an orderly close or a reset, as a dead device gives
    with contextlib.suppress(ConnectionResetError):
        assert await ask(port, b"TEMP?\r\n") == b""
    faults.clear()
    assert await ask(port, b"TEMP?\r\n") == b"echo:TEMP?\r\n"


async def test_delay_holds_replies(proxied):
    port, faults = proxied
    faults.inject("climate_chamber", FaultKind.DELAY, seconds=0.5)
    with pytest.raises(TimeoutError):
        await ask(port, b"TEMP?\r\n", wait_s=0.1)


async def test_garble_keeps_the_line_ending(proxied):
    port, faults = proxied
    faults.inject("climate_chamber", FaultKind.GARBLE)
    reply = await ask(port, b"TEMP?\r\n")
    assert reply.endswith(b"\r\n") and len(reply) == len(b"echo:TEMP?\r\n")
    assert reply != b"echo:TEMP?\r\n"


def test_garble_framings():
    rng = random.Random(1)
    mbap = bytes([0, 1, 0, 0, 0, 5, 1, 3, 2, 0x41, 0xAC])
    out = garble(mbap, "mbap", rng)
    assert out[:7] == mbap[:7] and out[7:] != mbap[7:] and len(out) == len(mbap)
    raw = bytes(range(1, 9))
    assert all(a != b for a, b in zip(garble(raw, "raw", rng), raw, strict=True))


async def test_pty_bridge_reaches_the_endpoint_and_goes_silent_on_drop(proxied):
    port, faults = proxied
    bridge = PtyBridge(("127.0.0.1", port))
    path = await bridge.start()
    assert path.startswith("/dev/pts/")
    tty = serial.serial_for_url(path, baudrate=9600, timeout=0.5)
    try:
        tty.write(b"MON?\r\n")
        reply = await asyncio.to_thread(tty.read_until, b"\r\n")
        assert reply == b"echo:MON?\r\n"
        faults.inject("climate_chamber", FaultKind.DROP)
        tty.write(b"MON?\r\n")
        assert await asyncio.to_thread(tty.read_until, b"\r\n") == b""  # silence, as on a line
        faults.clear()
        tty.write(b"MON?\r\n")
        assert await asyncio.to_thread(tty.read_until, b"\r\n") == b"echo:MON?\r\n"
    finally:
        tty.close()
        await bridge.stop()
