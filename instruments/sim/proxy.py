"""Transport faults, applied outside the protocol servers.

Every simulated endpoint is reached through a `FaultProxy`: a loopback TCP relay that passes
bytes through untouched until the `FaultInjector` says otherwise. Then it drops the connection
(and closes new ones at once), holds replies back, garbles them while keeping the framing,
flips random bits in them, or black-holes the link (accepts, swallows requests, never answers),
so a driver meets the faults the way it would meet a bad cable or a confused instrument, and
the protocol servers stay free of fault logic. `PtyBridge` gives the same endpoint a real tty.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tty
from collections.abc import Coroutine
from typing import Literal

from instruments.sim.faults import FaultInjector, FaultKind

Framing = Literal["line", "mbap", "raw"]
DEFAULT_DELAY_S = 5.0  # wall seconds: past any driver timeout worth having


def garble(data: bytes, framing: Framing, rng: random.Random) -> bytes:
    """Corrupt a reply while keeping its frame, so the client reads a whole, wrong answer.

    line: keep the trailing CR/LF; mbap: keep the 7-byte Modbus TCP header (so the length
    field still matches); raw: every byte (an RTU frame then fails its CRC).
    """
    keep_head = 7 if framing == "mbap" else 0
    body_end = len(data)
    if framing == "line":
        body_end = len(data.rstrip(b"\r\n"))
    out = bytearray(data)
    for i in range(keep_head, body_end):
        out[i] = rng.choice(b"#$%&*?@^~!|") if framing == "line" else out[i] ^ rng.randrange(1, 256)
    return bytes(out)


def flip_bits(data: bytes, bits: int, rng: random.Random) -> bytes:
    """`bits` random bits of `data` inverted: a noisy line, framing and checksums not kept."""
    out = bytearray(data)
    for _ in range(bits if out else 0):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


class FaultProxy:
    """Relays one endpoint, applying the drop / delay / garble faults of `role`."""

    def __init__(
        self,
        role: str,
        upstream: tuple[str, int],
        faults: FaultInjector | None,
        *,
        framing: Framing = "line",
        seed: int = 0,
    ) -> None:
        self.role = role
        self.upstream = upstream
        self.faults = faults
        self.framing = framing
        self.port = 0
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _fault(self, kind: FaultKind) -> dict[str, float] | None:
        if self.faults is None:
            return None
        fault = self.faults.active(self.role, kind)
        return None if fault is None else fault.params

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self._fault(FaultKind.DROP) is not None:
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                return
            try:
                await _first_done(
                    self._pump(reader, up_writer, replies=False),
                    self._pump(up_reader, writer, replies=True),
                )
            finally:
                up_writer.close()
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, replies: bool
    ) -> None:
        while data := await src.read(65536):
            if self._fault(FaultKind.DROP) is not None:
                return
            if not replies and self._fault(FaultKind.BLACK_HOLE) is not None:
                continue  # swallowed: the device never hears it, the client never hears back
            if replies:
                delay = self._fault(FaultKind.DELAY)
                if delay is not None:
                    await asyncio.sleep(float(delay.get("seconds", DEFAULT_DELAY_S)))
                if self._fault(FaultKind.GARBLE) is not None:
                    data = garble(data, self.framing, self._rng)
                if (flip := self._fault(FaultKind.FLIP)) is not None:
                    data = flip_bits(data, int(flip.get("bits", 1)), self._rng)
            dst.write(data)
            await dst.drain()


async def _first_done(*coros: Coroutine[object, object, None]) -> None:
    """Run the two directions of a relay; when either ends, end both."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class PtyBridge:
    """A real pseudo-terminal whose far side is a TCP endpoint (normally a `FaultProxy`).

    Drivers open `tty_path` like any serial port. When the endpoint is unreachable the bytes
    written to the tty get no answer - silence, as on a serial line whose device went away.
    With `baud` set, every byte of a request and its reply takes the time a UART frame (start
    bit, 8 data bits, stop bit) takes at that rate, as on a real RS-232 line.
    """

    def __init__(self, upstream: tuple[str, int], *, baud: int | None = None) -> None:
        self.upstream = upstream
        self.byte_time_s = 0.0 if baud is None else 10.0 / baud
        self._line_bytes = 0  # request bytes not yet paid for in line time
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.tty_path = os.ttyname(self._slave)
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending = bytearray()
        self._connect_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> str:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._on_tty_data)
        return self.tty_path

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._master)
        self._drop_upstream()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _on_tty_data(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        self._line_bytes += len(data)
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)
            return
        self._pending += data
        if self._connect_task is None or self._connect_task.done():
            self._connect_task = asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        try:
            reader, self._writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._pending.clear()  # nobody to answer: silence
            return
        self._writer.write(bytes(self._pending))
        self._pending.clear()
        self._reader_task = asyncio.ensure_future(self._relay_replies(reader))

    async def _relay_replies(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(4096):
                if self.byte_time_s:
                    await asyncio.sleep((self._line_bytes + len(data)) * self.byte_time_s)
                    self._line_bytes = 0
                with contextlib.suppress(BlockingIOError, OSError):
                    os.write(self._master, data)
        finally:
            self._drop_upstream(cancel_reader=False)

    def _drop_upstream(self, *, cancel_reader: bool = True) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if cancel_reader and self._reader_task is not None:
            self._reader_task.cancel()
        self._reader_task = None
