"""Carrying out commands on the bench's instruments: one place for the engine and the TUI's
idle session, so a set point or a safe state means the same whoever sends it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bench.connect import reason
from bench.run.commands import Command, SafeState, SetAir, SetHeatPump, SetWater
from bench.station import BenchState
from instruments.base import Instrument, InstrumentError

OnError = Callable[[str, str], None]  # (role, why) of a safe-state step that failed


async def put_bench_in(
    instruments: dict[str, Instrument], state: BenchState, on_error: OnError
) -> bool:
    """Heat pump off, chamber and water as `state` says - all at once, so a slow chamber never
    delays switching the unit off. Every step is tried; True when the heat pump confirmed it
    is off."""

    async def step(role: str, action: Callable[[Any], Awaitable[None]]) -> bool:
        if role not in instruments:
            return role != "heat_pump"
        try:
            await action(instruments[role])
            return True
        except InstrumentError as exc:
            on_error(role, reason(exc))
            return False

    water = (
        step("hydraulic_module", lambda i: i.set_flow(state.water_flow_m3h))
        if state.water_pump == "on"
        else step("hydraulic_module", lambda i: i.set_running(False))
    )
    heat_pump_off, *_ = await asyncio.gather(
        step("heat_pump", lambda i: i.set_running(False)),
        step("climate_chamber", lambda i: i.set_mode(state.chamber)),
        water,
    )
    return heat_pump_off


async def actuate(
    instruments: dict[str, Instrument],
    command: Command,
    *,
    safe: BenchState,
    final: BenchState,
    on_error: OnError,
    may_switch_on: Callable[[], bool] = lambda: True,
    kept_off: Callable[[], None] = lambda: None,
) -> None:
    """One command; InstrumentError when an instrument refuses or cannot be reached.

    `may_switch_on` is asked right before the heat pump is switched on, with nothing awaited
    in between (the engine's safe-stop latch, decision 0011); when it says no, `kept_off` is
    told and the unit stays off."""
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
            if on and not may_switch_on():
                kept_off()
                return
            await heat_pump.set_running(on)
        case SafeState(final=is_final):
            await put_bench_in(instruments, final if is_final else safe, on_error)
