"""Carrying out commands on the bench's instruments: one place for the engine and the TUI's
idle session, so a set point, a permissive or a safe state means the same whoever sends it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bench.permissives import FlowSource, Permissives, check_permissives
from bench.run.commands import Command, SafeState, SetAir, SetHeatPump, SetWater
from bench.run.safe_state import OnError, reach_safe_state
from bench.station import BenchState
from bench.station_layout import StationLayout
from instruments.base import Instrument

Sleep = Callable[[float], Awaitable[None]]


def commanded(
    instruments: Mapping[str, Instrument], commands: Mapping[str, str] | None
) -> dict[str, Instrument]:
    """Role -> the instrument commanding it (`Station.layout.command_instruments()`): set
    points, safe state and permissives address roles, whatever the instruments are called.
    None: the instruments are keyed by role already."""
    if commands is None:
        return dict(instruments)
    return {role: instruments[name] for role, name in commands.items()}


def flow_meter(
    instruments: Mapping[str, Instrument], layout: StationLayout | None
) -> FlowSource | None:
    """The permissive's flow reading where the station maps `water.flow_m3h` to one channel
    (a separate meter); None: the hydraulic module's own."""
    source = layout.reading_of("water.flow_m3h") if layout is not None else None
    if source is None:
        return None
    name, channel, factor = source
    return FlowSource(instruments[name], channel, factor, name)


async def put_bench_in(
    instruments: dict[str, Instrument],
    state: BenchState,
    on_error: OnError,
    *,
    sleep: Sleep = asyncio.sleep,
    backoff_s: float = 0.5,
) -> bool:
    """The confirmed safe-state procedure (bench/run/safe_state.py) for callers that only ask
    whether the heat pump was confirmed off (the TUI's idle session); the engine uses
    `reach_safe_state` itself for the whole report."""
    report = await reach_safe_state(
        instruments, state, on_error=on_error, sleep=sleep, backoff_s=backoff_s
    )
    return report.heat_pump_off


async def actuate(
    instruments: dict[str, Instrument],
    command: Command,
    *,
    safe: BenchState,
    final: BenchState,
    on_error: OnError,
    may_switch_on: Callable[[], bool] = lambda: True,
    kept_off: Callable[[], None] = lambda: None,
    permissives: Permissives | None = None,
    sleep: Sleep = asyncio.sleep,
    meter: FlowSource | None = None,
) -> None:
    """One command; InstrumentError when an instrument refuses or cannot be reached, and
    PermissiveNotMet (an InstrumentError) when the heat pump may not be switched on.

    Before the heat pump is switched on the station's permissives are checked on fresh
    readings; then `may_switch_on` is asked, with nothing awaited in between (the engine's
    safe-stop latch and holds, decision 0011); when it says no, `kept_off` is told and the
    unit stays off."""
    chamber: Any = instruments.get("climate_chamber")
    water: Any = instruments.get("hydraulic_module")
    heat_pump: Any = instruments.get("heat_pump")
    match command:
        case SetAir(temperature_c=t, humidity_pct=rh):
            await chamber.set_air(t, rh)
            await chamber.set_mode("constant")
        case SetWater(inlet_c=inlet, flow_m3h=flow):
            await water.set_running(True)
            await water.set_inlet_temperature(inlet)
            await water.set_flow(flow)
        case SetHeatPump(running=on, flow_temperature_c=flow_t, demand_pct=demand):
            if flow_t is not None:
                await heat_pump.set_flow_temperature(flow_t)
            await heat_pump.set_demand(demand or 0.0)
            if on:
                await check_permissives(instruments, permissives or Permissives(), sleep, meter)
                if not may_switch_on():
                    kept_off()
                    return
            await heat_pump.set_running(on)
        case SafeState(final=is_final):
            await put_bench_in(instruments, final if is_final else safe, on_error, sleep=sleep)
