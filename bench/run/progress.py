"""What `hpbench run` shows while it runs, and the per-point table at the end.

On a terminal: a live panel (point i/n, phase, time in phase, ETA of the point and the plan,
the latest event). Otherwise: one plain line per state change, point result and alarm, which is
what a log file of an unattended night should hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from bench.run.bus import Subscription
from bench.run.engine import Engine, Event

SHOWN_KINDS = {"state", "point", "alarm", "transient", "run", "instrument", "operator"}
SHOWN_KINDS |= {"interlock", "safety", "progress", "gap"}


def duration(seconds: float | None) -> str:
    """H:MM:SS, as the CLI and the TUI show times in phase and ETAs."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def stamp(t: float) -> str:
    """Bench time as the CLI and the TUI show it (UTC)."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%H:%M:%S")


def status_line(engine: Engine) -> str:
    s = engine.status()
    point = f"point {s.point_index + 1}/{s.point_count} {s.point_id}" if s.point_id else "-"
    return (
        f"{point}  {s.phase}  {duration(s.time_in_phase_s)} in phase  "
        f"ETA point {duration(s.eta_point_s)}  plan {duration(s.eta_plan_s)}  "
        f"frames {s.frames}"
    )


async def show_progress(engine: Engine, console: Console, refresh_s: float = 0.25) -> None:
    """Runs until cancelled; never slows the engine (it reads a bounded, dropping bus)."""
    events = engine.events.subscribe("progress", maxsize=256)
    try:
        if console.is_terminal:
            last = ""
            with Live(console=console, auto_refresh=False, transient=True) as live:
                while True:
                    while (event := _next(events)) is not None:
                        if event.kind in SHOWN_KINDS - {"state"}:
                            console.print(f"{stamp(event.t)} {event.message}", markup=False)
                        last = event.message if event.kind == "state" else last
                    lines = (status_line(engine), engine.emulation.summary(), last)
                    live.update("\n".join(x for x in lines if x), refresh=True)
                    await asyncio.sleep(refresh_s)
        else:
            while True:
                event = await events.get()
                if event.kind in SHOWN_KINDS:
                    line = f"{stamp(event.t)} {event.kind:10} {event.message}"
                    if event.kind == "state":
                        line += f"  [{status_line(engine)}]"
                        if building := engine.emulation.summary():
                            line += f"\n{stamp(event.t)} {'building':10} {building}"
                    console.print(line, markup=False, highlight=False, soft_wrap=True)
    finally:
        engine.events.unsubscribe(events)


def _next(sub: Subscription[Event]) -> Event | None:
    with contextlib.suppress(asyncio.QueueEmpty):
        return sub.queue.get_nowait()
    return None


def results_table(points: list[dict[str, Any]]) -> Table:
    table = Table(title="points")
    for column in ("point", "status", "capacity W", "power W", "COP", "note"):
        table.add_column(column, justify="right" if column[0] in "cpC" else "left")
    for p in points:
        results = p.get("results") or {}

        def number(key: str, fmt: str, results: dict[str, Any] = results) -> str:
            value = results.get(key)
            return "-" if value is None else format(value, fmt)

        note = p.get("reason") or ("transient" if p.get("transient") else "")
        table.add_row(
            p["id"],
            p["status"],
            number("capacity_w", ".0f"),
            number("power_w", ".0f"),
            number("cop", ".2f"),
            note,
        )
    return table
