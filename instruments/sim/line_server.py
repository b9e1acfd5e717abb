"""A line-oriented TCP server for the simulated instruments that speak text protocols.

Each simulator is a `LineDevice`: it gets one request line (terminator stripped) and returns
the reply text or None (no reply, as for a SCPI setting). The server handles the socket part
only: the terminators, the encoding and the transcript of (request, reply) pairs a test can
read. Transport faults are a `FaultProxy`'s job, as for the other simulators.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Protocol

from instruments.sim.faults import FaultKind
from instruments.sim.model import BenchModel, ElectricalState

log = logging.getLogger(__name__)


class LineDevice(Protocol):
    def handle(self, line: str) -> str | None: ...


class LineServer:
    def __init__(
        self,
        device: LineDevice,
        *,
        request_end: bytes = b"\n",
        reply_end: bytes = b"\n",
        encoding: str = "ascii",
    ) -> None:
        self.device = device
        self.request_end = request_end
        self.reply_end = reply_end
        self.encoding = encoding
        self.transcript: list[tuple[str, str | None]] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                try:
                    raw = await reader.readuntil(self.request_end)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return  # peer closed, or no terminator in 64 KiB: not a request
                line = raw[: -len(self.request_end)].decode(self.encoding, errors="replace")
                try:
                    reply = self.device.handle(line)
                except Exception:  # a simulator bug must not end the connection
                    log.exception("simulator failed on %r", line)
                    reply = None
                if line.strip():
                    self.transcript.append((line, reply))
                if reply is not None:
                    writer.write(reply.encode(self.encoding, errors="replace") + self.reply_end)
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()


@dataclass(frozen=True)
class Phase:
    """One element's values on a balanced three-phase load split from the bench model."""

    u: float
    i: float
    p: float
    s: float
    q: float
    pf: float
    f: float


def phase_values(e: ElectricalState, phases: int) -> Phase:
    """A feed (model.electrical, or a part: feeds.py) seen on one of `phases` balanced
    elements."""
    n = max(1, phases)
    return Phase(
        e.voltage_v, e.current_a / n, e.power_meas_w / n, e.apparent_va / n,
        e.reactive_var / n, e.power_factor, e.frequency_hz,
    )  # fmt: skip


def over_range(model: BenchModel, role: str = "power_analyser") -> bool:
    faults = model.faults
    return faults is not None and faults.active(role, FaultKind.OVER_RANGE) is not None


def range_for(value: float, ranges: tuple[float, ...]) -> float:
    """The smallest range that holds `value` (what auto range settles on)."""
    return next((r for r in ranges if abs(value) <= r), ranges[-1])


def nr3(value: float) -> str:
    """<NR3> as the WT family prints it: 6 significant digits, e.g. 123.456E+00."""
    if not math.isfinite(value):
        return "NAN" if math.isnan(value) else "INF"
    return f"{value:.5E}"
