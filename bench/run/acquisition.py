"""Acquisition: every instrument polled concurrently each period into one `Frame`.

Each instrument has at most one read in flight. At every tick the idle ones are asked again and
the frame waits for their answers only until its deadline (most of a period); an instrument that
has not answered by then, or failed, contributes its last values marked STALE - it never delays
the others, and its read keeps running so it can catch up. Ticks are on a fixed bench-time
grid; a tick that could not be served in time is skipped and counted, never queued up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.run.frame import Frame, channel_id
from instruments.base import Instrument, InstrumentError, Quality, Reading
from instruments.clock import Clock

DEADLINE_SHARE = 0.8  # of the period (in wall time) that a frame waits for slow instruments
MIN_DEADLINE_S = 0.05  # wall seconds; at high time-warp a period is only milliseconds long


@dataclass
class InstrumentPoller:
    """The read in flight and the last values of one instrument."""

    role: str
    instrument: Instrument
    last: dict[str, Reading] = field(default_factory=dict)
    task: asyncio.Task[dict[str, Reading]] | None = None
    error: str = ""
    down_since: float | None = None  # bench time of the first failure in a row

    def start_read(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.instrument.read(), name=f"read-{self.role}")

    def collect(self, now: float) -> tuple[dict[str, Reading], str | None]:
        """Readings for this frame, and an event message when the instrument's health changed."""
        message = None
        if self.task is not None and self.task.done():
            task, self.task = self.task, None
            exc = task.exception()
            if exc is None:
                self.last = task.result()
                if self.error:
                    message = f"{self.role} answers again after: {self.error}"
                self.error, self.down_since = "", None
                return dict(self.last), message
            detail = str(exc)
            if not isinstance(exc, InstrumentError):  # a driver bug: say what it was
                detail = f"{type(exc).__name__}: {exc}"
            if detail != self.error:
                message = f"{self.role} read failed: {detail}"
            self.error = detail
            self.down_since = self.down_since or now
        reason = self.error or "no answer within the acquisition period"
        stale = {name: r.stale(reason) for name, r in self.last.items()}
        for name, unit in self.instrument.channels().items():
            stale.setdefault(name, Reading(None, unit, Quality.STALE, reason))
        return stale, message


class Acquisition:
    """Produces frames on a fixed bench-time period and hands each to `sink`."""

    def __init__(
        self,
        instruments: dict[str, Instrument],
        clock: Clock,
        period_s: float,
        sink: Callable[[Frame], None],
        *,
        on_event: Callable[[float, str, str], None] | None = None,
        first_seq: int = 0,
    ) -> None:
        if period_s <= 0:
            raise ValueError("acquisition period must be > 0")
        self.clock = clock
        self.period_s = period_s
        self.sink = sink
        self.on_event = on_event or (lambda t, kind, message: None)
        self.pollers = [InstrumentPoller(role, inst) for role, inst in instruments.items()]
        self.next_seq = first_seq
        self.missed_ticks = 0
        self._task: asyncio.Task[None] | None = None

    def channels(self) -> dict[str, str]:
        """Every channel of the bench (id -> unit), in a fixed order."""
        return {
            channel_id(p.role, name): unit
            for p in self.pollers
            for name, unit in p.instrument.channels().items()
        }

    async def acquire_once(self, t: float) -> Frame:
        for poller in self.pollers:
            poller.start_read()
        pending = {p.task for p in self.pollers if p.task is not None}
        deadline = max(self.clock.to_wall(self.period_s) * DEADLINE_SHARE, MIN_DEADLINE_S)
        if pending:
            await asyncio.wait(pending, timeout=deadline)
        readings: dict[str, Reading] = {}
        for poller in self.pollers:
            values, message = poller.collect(t)
            if message:
                self.on_event(t, "instrument", message)
            readings.update({channel_id(poller.role, k): v for k, v in values.items()})
        frame = Frame(self.next_seq, t, readings)
        self.next_seq += 1
        self.sink(frame)
        return frame

    async def run(self) -> None:
        """Acquire until cancelled, on the grid t0 + k * period."""
        t0 = self.clock.now()
        k = 0
        while True:
            tick = t0 + k * self.period_s
            await self.acquire_once(tick)
            k += 1
            behind = self.clock.now() - (t0 + k * self.period_s)
            if behind > 0:  # could not keep up: skip the ticks already past, and say so
                late = int(behind // self.period_s) + 1
                self.missed_ticks += late
                k += late
                self.on_event(tick, "acquisition", f"overrun: {late} period(s) skipped")
            await self.clock.sleep(t0 + k * self.period_s - self.clock.now())

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="acquisition")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for poller in self.pollers:
            if poller.task is not None:
                poller.task.cancel()
                with contextlib.suppress(BaseException):
                    await poller.task
