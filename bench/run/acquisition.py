"""Acquisition: every instrument polled concurrently each period into one `Frame`.

Each instrument has at most one read in flight. At every tick the idle ones are asked again and
the frame waits for their answers only until its deadline (most of a period); an instrument that
has not answered by then, or failed, contributes its last values marked STALE - it never delays
the others, and its read keeps running so it can catch up. Ticks are on a fixed bench-time
grid; a tick that could not be served in time is skipped and counted, never queued up.

Each frame is handed over packed as a run-store row in `channels()` order (`FrameLayout`), the
order a run's store is created with, so the store inserts it as it is.

A station whose quantities come from other instruments than the contract's roles (a data logger's
Pt100s, two analysers summed) gets the contract's channel ids as derived channels, computed from
each frame's raw readings after they are collected (bench/station_layout.py): the engine, export
and TUI read the same ids whatever the layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bench.run.frame import Frame, FrameLayout, channel_id
from bench.station_layout import Derived
from instruments.base import Instrument, InstrumentError, Quality, Reading
from instruments.clock import Clock
from instruments.plausibility import Plausibility, Range, for_instrument

DEADLINE_SHARE = 0.8  # of the period (in wall time) that a frame waits for slow instruments
MIN_DEADLINE_S = 0.05  # wall seconds; at high time-warp a period is only milliseconds long
BACKOFF_MAX_PERIODS = 2  # between attempts at a dead instrument, at most: a link that
# comes back is read again within two periods (issue 11: a 30 s cap left it unread for 35 s)


@dataclass
class InstrumentPoller:
    """The read in flight, the last values and the health of one instrument.

    After a failure the instrument is asked again with a growing back-off (one period, then
    two: `BACKOFF_MAX_PERIODS`), so a dead link is retried without hammering it; the
    driver reconnects on the next read by itself.
    """

    role: str
    instrument: Instrument
    last: dict[str, Reading] = field(default_factory=dict)
    task: asyncio.Task[dict[str, Reading]] | None = None
    error: str = ""
    failures: int = 0  # in a row
    retry_at: float = 0.0  # bench time of the next attempt after a failure
    invalid: set[str] = field(default_factory=set)  # channels reading a sentinel just now
    plausibility: Plausibility = field(default_factory=Plausibility)
    ids: ChannelIds = field(init=False)  # channel name -> channel id

    def __post_init__(self) -> None:
        self.ids = ChannelIds(self.role)

    def start_read(self, now: float) -> None:
        if (self.task is None or self.task.done()) and now >= self.retry_at:
            self.task = asyncio.create_task(self.instrument.read(), name=f"read-{self.role}")

    def collect(self, now: float, period_s: float) -> tuple[dict[str, Reading], list[str]]:
        """Readings for this frame, and event messages where the instrument's health changed."""
        messages: list[str] = []
        if self.task is not None and self.task.done():
            task, self.task = self.task, None
            exc = task.exception()
            if exc is None:
                self.last = self.plausibility.check(now, task.result())
                if self.error:
                    messages.append(f"{self.role} answers again after: {self.error}")
                self.error, self.failures, self.retry_at = "", 0, 0.0
                messages += self._sentinels()
                return dict(self.last), messages
            detail = str(exc)
            if not isinstance(exc, InstrumentError):  # a driver bug: say what it was
                detail = f"{type(exc).__name__}: {exc}"
            if detail != self.error:
                messages.append(f"{self.role} read failed: {detail}")
            self.error = detail
            self.failures += 1
            self.retry_at = now + period_s * min(self.failures, BACKOFF_MAX_PERIODS)
        reason = self.error or "no answer within the acquisition period"
        stale = {name: r.stale(reason) for name, r in self.last.items()}
        for name, unit in self.instrument.channels().items():
            stale.setdefault(name, Reading(None, unit, Quality.STALE, reason))
        return stale, messages

    def _sentinels(self) -> list[str]:
        """Channels that started or stopped reading a sentinel (over-range, not available)."""
        now_invalid = {k for k, r in self.last.items() if r.quality is Quality.INVALID}
        messages = []
        if started := sorted(now_invalid - self.invalid):
            details = "; ".join(self.last[k].detail or k for k in started)
            messages.append(f"{self.role} invalid: {', '.join(started)} ({details})")
        if ended := sorted(self.invalid - now_invalid):
            messages.append(f"{self.role} valid again: {', '.join(ended)}")
        self.invalid = now_invalid
        return messages


class ChannelIds(dict[str, str]):
    """One role's channel ids, made once: formatting 40 ids every frame cost more than
    packing the frame, and a cached string's hash is cached too (the store looks them up)."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def __missing__(self, name: str) -> str:
        cid = self[name] = channel_id(self.role, name)
        return cid


def channels_of(
    instruments: Mapping[str, Instrument], derived: Iterable[Derived] = ()
) -> dict[str, str]:
    """Every channel of the bench (id -> unit) in a fixed order: raw, then derived."""
    found = {
        channel_id(role, name): unit
        for role, inst in instruments.items()
        for name, unit in inst.channels().items()
    }
    for d in derived:
        found[d.channel] = d.unit
    return found


_WORSE = {Quality.OK: 0, Quality.STALE: 1, Quality.INVALID: 2}
_ABSENT = Reading(None, "", Quality.INVALID, "no such channel")


def derive(d: Derived, readings: Mapping[str, Reading]) -> Reading:
    """The sum of the parts times the unit factor. A part not OK makes it not OK: the worst
    part's quality and detail, the value kept for display while every part has one."""
    total, worst, detail = 0.0, Quality.OK, ""
    for source in d.sources:
        part = readings.get(source, _ABSENT)
        if _WORSE[part.quality] > _WORSE[worst]:
            worst, detail = part.quality, f"{source}: {part.detail or part.quality}"
        total = math.nan if part.value is None else total + part.value
    if worst is Quality.OK:
        return Reading.ok(total * d.factor, d.unit)
    return Reading(None if math.isnan(total) else total * d.factor, d.unit, worst, detail)


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
        plausible: dict[str, Range] | None = None,
        derived: Iterable[Derived] = (),
    ) -> None:
        if period_s <= 0:
            raise ValueError("acquisition period must be > 0")
        self.clock = clock
        self.period_s = period_s
        self.sink = sink
        self.on_event = on_event or (lambda t, kind, message: None)
        self.pollers = [
            InstrumentPoller(role, inst, plausibility=for_instrument(role, inst, plausible))
            for role, inst in instruments.items()
        ]
        self.derived = tuple(derived)
        self.layout = FrameLayout(self.channels())
        self.next_seq = first_seq
        self.missed_ticks = 0
        self._behind_since: int | None = None  # missed_ticks when the current overrun began
        self._task: asyncio.Task[None] | None = None

    def channels(self) -> dict[str, str]:
        return channels_of({p.role: p.instrument for p in self.pollers}, self.derived)

    async def acquire_once(self, t: float) -> Frame:
        already_late = {p.task for p in self.pollers if p.task is not None and not p.task.done()}
        for poller in self.pollers:
            poller.start_read(t)
        # wait only for the reads asked at this tick: one still running from an earlier tick is
        # late already, and waiting for it would make every frame late
        pending = {p.task for p in self.pollers if p.task is not None} - already_late
        deadline = max(self.clock.to_wall(self.period_s) * DEADLINE_SHARE, MIN_DEADLINE_S)
        if pending:
            await asyncio.wait(pending, timeout=deadline)
        readings: dict[str, Reading] = {}
        for poller in self.pollers:
            values, messages = poller.collect(t, self.period_s)
            for message in messages:
                self.on_event(t, "instrument", message)
            ids = poller.ids
            readings.update({ids[k]: v for k, v in values.items()})
        for d in self.derived:
            readings[d.channel] = derive(d, readings)
        frame = self.layout.frame(self.next_seq, t, readings)
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
            if behind > 0:  # could not keep up: skip the ticks already past
                late = int(behind // self.period_s) + 1
                self.missed_ticks += late
                k += late
                if self._behind_since is None:
                    self._behind_since = self.missed_ticks - late
                    self.on_event(tick, "acquisition", "falling behind: periods skipped")
            elif self._behind_since is not None:
                skipped = self.missed_ticks - self._behind_since
                self._behind_since = None
                self.on_event(tick, "acquisition", f"keeping up again; {skipped} period(s) skipped")
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
