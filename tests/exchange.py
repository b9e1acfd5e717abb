"""In-memory exchanges: a scripted link that pins the exact bytes a driver sends and reads.

`Script([(request, reply), ...])` is given to a driver with `linked(driver, script)`; each write
must be the next expected request byte for byte, and every read gets the reply paired with the
last request (None: the request expects no reply). A reply may also be an exception instance
(e.g. an InstrumentTimeout) to raise on that read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TypeVar

from instruments.base import InstrumentError

T = TypeVar("T")
Pair = tuple[bytes, bytes | InstrumentError | None]


class Script:
    def __init__(self, *sessions: Sequence[Pair]) -> None:
        self.sessions = [list(s) for s in sessions]  # one script per (re)connect
        self.opened = 0
        self.sent: list[bytes] = []

    def __call__(self) -> ScriptedLink:
        assert self.opened < len(self.sessions), "driver opened the link more often than scripted"
        link = ScriptedLink(self, self.sessions[self.opened])
        self.opened += 1
        return link

    def done(self) -> bool:
        return self.opened == len(self.sessions) and all(not s for s in self.sessions)


class ScriptedLink:
    def __init__(self, script: Script, pairs: list[Pair]) -> None:
        self.script = script
        self.pairs = pairs
        self.pending: list[bytes | InstrumentError] = []

    def write(self, data: bytes) -> None:
        self.script.sent.append(data)
        assert self.pairs, f"unexpected request {data!r}: script exhausted"
        expected, reply = self.pairs.pop(0)
        assert data == expected, f"sent {data!r}, expected {expected!r}"
        if reply is not None:
            self.pending.append(reply)

    def read(self) -> bytes:
        assert self.pending, "driver read with no reply scripted"
        reply = self.pending.pop(0)
        if isinstance(reply, InstrumentError):
            raise reply
        return reply

    def discard_input(self) -> None:
        self.pending.clear()

    def close(self) -> None:
        pass


class ModbusScript:
    """A Modbus TCP peer on loopback answering scripted PDUs: `(request, reply)` as hex.

    Both include the unit id byte, e.g. `("01 03 0aba 0001", "01 03 02 000a")`. The peer
    checks each request byte for byte, echoes the transaction id in the MBAP header and sends
    the reply (or, for a reply of raw `bytes`, exactly those bytes, MBAP and all).
    """

    def __init__(self, pairs: Sequence[tuple[str, str | bytes]]) -> None:
        self.pairs = list(pairs)
        self.mismatch: str | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

    def done(self) -> bool:
        return not self.pairs and self.mismatch is None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)  # type: ignore[arg-type]
        self._writers.add(writer)
        try:
            while True:
                header = await reader.readexactly(7)
                length = int.from_bytes(header[4:6], "big")
                pdu = header[6:7] + await reader.readexactly(length - 1)
                if not self.pairs:
                    self.mismatch = f"unexpected request {pdu.hex(' ')}"
                    return
                expected, reply = self.pairs.pop(0)
                if pdu != bytes.fromhex(expected):
                    self.mismatch = f"sent {pdu.hex(' ')}, expected {expected}"
                    return
                if isinstance(reply, bytes):
                    writer.write(reply)
                else:
                    body = bytes.fromhex(reply)
                    writer.write(header[:4] + len(body).to_bytes(2, "big") + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


def linked(driver: T, script: Script) -> T:
    """The driver with its session talking to `script` instead of VISA."""
    driver.session.use_link(script)  # type: ignore[attr-defined]
    return driver
