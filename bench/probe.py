"""`hpbench probe`: connect to every instrument of a station, show who they are, then watch.

Each instrument is polled by its own task, so a slow or dead one marks its own channels stale
and never holds up the others; the table is redrawn from the latest values on a fixed beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.table import Table

from bench.connect import ConnectFailed, close_all, connect_all, reason
from instruments.base import Instrument, InstrumentError, Quality, Reading
from instruments.clock import Clock

QUALITY_STYLE = {Quality.OK: "green", Quality.STALE: "yellow", Quality.INVALID: "red"}


@dataclass
class Latest:
    """The newest readings of one instrument and its last error, if any."""

    readings: dict[str, Reading] = field(default_factory=dict)
    error: str = ""
    polls: int = 0


async def poll_forever(inst: Instrument, latest: Latest, period_s: float) -> None:
    while True:
        try:
            latest.readings = await inst.read()
            latest.error = ""
        except InstrumentError as exc:
            latest.error = reason(exc)
            latest.readings = {k: r.stale(latest.error) for k, r in latest.readings.items()}
        latest.polls += 1
        await asyncio.sleep(period_s)


def _format(reading: Reading) -> str:
    if reading.value is None or not math.isfinite(reading.value):
        return "----"
    return f"{reading.value:.6g}"


def render_table(
    instruments: dict[str, Instrument], latest: dict[str, Latest], now: float
) -> Table:
    stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    table = Table(title=f"bench time {stamp}", expand=False)
    for column in ("instrument", "channel", "value", "unit", "quality"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for role, inst in instruments.items():
        state = latest[role]
        channels = state.readings or {
            name: Reading(None, unit, Quality.STALE, "no reading yet")
            for name, unit in inst.channels().items()
        }
        for i, (name, reading) in enumerate(channels.items()):
            style = QUALITY_STYLE[reading.quality]
            table.add_row(
                role if i == 0 else "",
                name,
                _format(reading),
                reading.unit,
                f"[{style}]{reading.quality}[/]",
            )
        if state.error:
            table.add_row("", "[red]error[/]", "", "", f"[red]{state.error}[/]")
    return table


def plain_line(latest: dict[str, Latest], now: float) -> str:
    stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%H:%M:%S")
    parts = [stamp]
    for role, state in latest.items():
        for name, r in state.readings.items():
            flag = "" if r.quality is Quality.OK else f"[{r.quality}]"
            parts.append(f"{role}.{name}={_format(r)}{r.unit}{flag}")
        if state.error:
            parts.append(f"{role}:error={state.error!r}")
    return " ".join(parts)


async def run_probe(
    instruments: dict[str, Instrument],
    clock: Clock,
    console: Console,
    *,
    period_s: float = 1.0,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Exit code: 0 after a clean watch, 2 when an instrument could not be reached."""
    stop = stop or asyncio.Event()
    try:
        identities = await connect_all(instruments)
    except ConnectFailed as exc:
        for line in str(exc).splitlines():
            console.print(f"hpbench probe: cannot reach {line}", style="red", markup=False)
        return 2
    for role, ident in identities.items():
        console.print(f"{role:17} {ident}  ({instruments[role].address})", markup=False)

    latest = {role: Latest() for role in instruments}
    tasks = [
        asyncio.create_task(poll_forever(inst, latest[role], period_s), name=f"poll-{role}")
        for role, inst in instruments.items()
    ]
    loop = asyncio.get_running_loop()
    deadline = None if duration_s is None else loop.time() + duration_s
    try:
        if console.is_terminal:
            with Live(console=console, auto_refresh=False) as live:
                while not await _tick(stop, period_s, deadline, loop):
                    live.update(render_table(instruments, latest, clock.now()), refresh=True)
        else:
            while not await _tick(stop, period_s, deadline, loop):
                console.print(
                    plain_line(latest, clock.now()), markup=False, highlight=False, soft_wrap=True
                )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_all(instruments)
    return 0


async def _tick(
    stop: asyncio.Event, period_s: float, deadline: float | None, loop: asyncio.AbstractEventLoop
) -> bool:
    """Wait one display period; True when it is time to finish."""
    wait = period_s if deadline is None else max(0.0, min(period_s, deadline - loop.time()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), wait)
    return stop.is_set() or (deadline is not None and loop.time() >= deadline)


async def run_driver_probe(
    driver: str,
    clock: Clock,
    console: Console,
    *,
    period_s: float = 1.0,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """`probe --sim --driver NAME`: that device's simulator alone, every channel shown."""
    from instruments import registry
    from instruments.sim.catalog import start_simulator
    from instruments.sim.model import BenchModel

    address, options, stop_sim = await start_simulator(driver, BenchModel(clock))
    try:
        inst = registry.create(driver, driver, address, **options)
        return await run_probe(
            {driver: inst}, clock, console, period_s=period_s, duration_s=duration_s, stop=stop
        )
    finally:
        await stop_sim()
