"""Carrying out commands on the bench's instruments: one place for the engine and the TUI's
idle session, so a set point, a permissive or a safe state means the same whoever sends it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from bench.permissives import FlowSource, Permissives, check_permissives
from bench.run.commands import Command, SafeState, SetAir, SetHeatPump, SetWater
from bench.run.safe_state import OnError, reach_safe_state
from bench.station import BenchState
from bench.station_layout import SWITCH, StationLayout
from instruments.base import Instrument, Reading
from instruments.io_module.modbus_outputs import SG_READY_CHANNEL

Sleep = Callable[[float], Awaitable[None]]


def commanded(
    instruments: Mapping[str, Instrument], commands: Mapping[str, str] | None
) -> dict[str, Instrument]:
    """Role -> the instrument commanding it (`Station.layout.command_instruments()`): set
    points, safe state and permissives address roles, whatever the instruments are called.
    None: the instruments are keyed by role already. With a `heat_pump_switch` the heat pump
    is the unit as switched through that module's SG-Ready contacts (`SwitchedUnit`)."""
    if commands is None:
        return dict(instruments)
    found = {role: instruments[name] for role, name in commands.items() if role != SWITCH}
    if SWITCH in commands:
        unit = SwitchedUnit(found["heat_pump"], instruments[commands[SWITCH]])
        found["heat_pump"] = cast(Instrument, unit)
    return found


class SwitchedUnit:
    """A unit whose map has no on/off register (NIBE), as the engine, the safe state and the
    controller see it: run / stop go to its SG-Ready contacts on a digital-output module
    (state 2 "normal" runs, state 1 "blocked" stops, docs/protocols.md §3.3), confirmed by
    the module's read-back; everything else goes to the unit's own driver. Why not a driver
    of its own: docs/decisions/0283-unit-switched-through-sg-ready.md."""

    RUN, STOP = 2, 1

    def __init__(self, unit: Any, switch: Any) -> None:
        self.unit, self.switch = unit, switch

    def __getattr__(self, name: str) -> Any:
        return getattr(self.unit, name)

    async def set_running(self, on: bool) -> None:
        await self.switch.set_sg_ready(self.RUN if on else self.STOP)

    async def read_command(self, command: str) -> Reading:
        reading: Reading
        if command == "running":  # the contacts, as the module reads them back
            reading = (await self.switch.read())[SG_READY_CHANNEL]
        else:
            reading = await self.unit.read_command(command)
        return reading

    def command_value(self, command: str, on: bool) -> float | None:
        if command != "running":
            value: float | None = self.unit.command_value(command, on)
            return value
        return float(self.RUN if on else self.STOP)

    async def set_demand(self, percent: float) -> None:
        """0 is "follow the set point", all a unit without a demand register does."""
        if percent or "demand" in self.unit.regmap.commands:
            await self.unit.set_demand(percent)


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
