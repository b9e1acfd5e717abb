"""`hpbench probe`: connect to every instrument of a station, show who they are, then watch.

A station is watched through the `BenchController`'s idle acquisition, the one the TUI shows
(docs/decisions/0200): what probe shows is what a run would record, stale marks included.
`--driver` has no station, so its one simulated device is polled on its own. Either way a slow
or dead instrument marks its own channels stale and never holds up the others; the table is
redrawn from the latest values on a fixed beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from bench.connect import ConnectFailed, close_all, connect_all, reason
from bench.controller import Bench, BenchController
from bench.run.frame import Frame
from instruments.base import Identity, Instrument, InstrumentError, Quality, Reading
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
    bench: Bench,
    console: Console,
    *,
    period_s: float = 1.0,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """The station's bench through the controller's idle acquisition, one frame per display
    period (`period_s` wall seconds). Exit code: 0 after a clean watch, 2 when an instrument
    could not be reached."""
    # probe sends no command, so the controller never opens a manual store under `results`
    controller = BenchController(bench, Path("results"), idle_period_s=period_s * bench.clock.speed)
    frames = controller.frames.subscribe("probe", maxsize=4)
    try:
        identities = await controller.connect()
    except ConnectFailed as exc:
        _cannot_reach(console, exc)
        return 2
    _show_identities(console, bench.instruments, identities)
    latest = {role: Latest() for role in bench.instruments}
    derived = set(bench.station.layout.derived())

    def newest() -> dict[str, Latest]:
        if (frame := frames.latest()) is not None:
            _take(frame, latest, controller.read_errors(), derived)
        return latest

    try:
        await _watch(bench.instruments, bench.clock, console, newest, period_s, duration_s, stop)
    finally:
        await controller.close("probe ended")
    return 0


def _take(
    frame: Frame, latest: dict[str, Latest], errors: dict[str, str], derived: set[str]
) -> None:
    """One frame's readings, by instrument (`<role>.<channel>` ids): the instruments' own
    channels, as each answered; the `derived` ones are no instrument's."""
    for role, state in latest.items():
        prefix = f"{role}."
        state.readings = {
            cid.removeprefix(prefix): r
            for cid, r in frame.readings.items()
            if cid.startswith(prefix) and cid not in derived
        }
        state.error = errors.get(role, "")
        state.polls += 1


async def _probe_instruments(
    instruments: dict[str, Instrument],
    clock: Clock,
    console: Console,
    *,
    period_s: float,
    duration_s: float | None,
    stop: asyncio.Event | None,
) -> int:
    """Instruments without a station: each polled by its own task."""
    try:
        identities = await connect_all(instruments)
    except ConnectFailed as exc:
        _cannot_reach(console, exc)
        return 2
    _show_identities(console, instruments, identities)
    latest = {role: Latest() for role in instruments}
    tasks = [
        asyncio.create_task(poll_forever(inst, latest[role], period_s), name=f"poll-{role}")
        for role, inst in instruments.items()
    ]
    try:
        await _watch(instruments, clock, console, lambda: latest, period_s, duration_s, stop)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_all(instruments)
    return 0


def _cannot_reach(console: Console, exc: ConnectFailed) -> None:
    for line in str(exc).splitlines():
        console.print(f"hpbench probe: cannot reach {line}", style="red", markup=False)


def _show_identities(
    console: Console, instruments: dict[str, Instrument], identities: dict[str, Identity]
) -> None:
    for role, ident in identities.items():
        console.print(f"{role:17} {ident}  ({instruments[role].address})", markup=False)


async def _watch(
    instruments: dict[str, Instrument],
    clock: Clock,
    console: Console,
    newest: Callable[[], dict[str, Latest]],
    period_s: float,
    duration_s: float | None,
    stop: asyncio.Event | None,
) -> None:
    """Redraw the newest values every `period_s` until `stop` or `duration_s` (wall)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    deadline = None if duration_s is None else loop.time() + duration_s
    if console.is_terminal:
        with Live(console=console, auto_refresh=False) as live:
            while not await _tick(stop, period_s, deadline, loop):
                live.update(render_table(instruments, newest(), clock.now()), refresh=True)
    else:
        while not await _tick(stop, period_s, deadline, loop):
            line = plain_line(newest(), clock.now())
            console.print(line, markup=False, highlight=False, soft_wrap=True)


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
        return await _probe_instruments(
            {driver: inst}, clock, console, period_s=period_s, duration_s=duration_s, stop=stop
        )
    finally:
        await stop_sim()
