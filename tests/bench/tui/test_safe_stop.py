"""Issue 12's acceptance: a TUI safe stop issued while manual commands are queued reaches the
safe state (the heat pump confirmed off) within two acquisition periods, idle and during a run
(decision 0011: a safe stop jumps every queue).

The chamber's replies are held back, so each queued `SetAir` takes seconds of wall time: a safe
stop queued behind them would take many periods. At 20x a period is a quarter of a wall second.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.run.commands import SafeState, SetAir, SetHeatPump, SetWater
from bench.run.sequencer import Phase
from bench.tui.session import Bench, CommandFailed, Session, open_bench

from .conftest import LONG_PLAN, next_event

SPEED = 20.0
PERIOD_S = 5.0  # bench seconds: the long plan's sample period, and the idle one here
CHAMBER_DELAY_S = 1.0  # wall seconds each chamber reply is held back
QUEUED = 3
RUNNING = "on_off"  # the simulated unit's on/off register (its map's `running`)


@pytest.fixture
def slow_bench() -> Iterator[Bench]:
    with open_bench(None, sim=True, speed=SPEED) as bench:
        yield bench


def heat_pump_running(bench: Bench) -> bool:
    model = bench.simulator.model
    return bool(bench.simulator.call(lambda: model.heat_pump.running))


async def safe_stop_behind_queued_commands(session: Session) -> None:
    """Queue slow manual set points, then ask for the safe state; it must not wait for them."""
    bench = session.bench
    events = session.events.subscribe("safe-stop-test", maxsize=10_000)
    bench.simulator.faults.inject("climate_chamber", "delay", seconds=CHAMBER_DELAY_S)
    queued = [session.command(SetAir(10.0 + i, None)) for i in range(QUEUED)]
    t0 = session.clock.now()
    session.command(SafeState("operator"))
    reached = await next_event(
        events, lambda e: e.kind == "safety" and e.message.startswith("safe state reached")
    )
    assert not heat_pump_running(bench)
    switched_off = [w.t for w in bench.simulator.writes("heat_pump", RUNNING) if w.t >= t0]
    assert switched_off and switched_off[0] - t0 <= 2 * PERIOD_S  # as the unit saw it
    assert reached.data["periods"] <= 2  # and as the safety event reports it
    bench.simulator.faults.clear("climate_chamber")
    assert queued[-1].done()  # dropped: never sent after the safe state


async def test_an_idle_safe_stop_jumps_the_queued_manual_commands(
    slow_bench: Bench, results: Path
) -> None:
    session = Session(slow_bench, results, idle_period_s=PERIOD_S)
    events = session.events.subscribe("test", maxsize=10_000)
    await session.connect()
    try:
        for command in (SetWater(30.0, 1.0), SetHeatPump(True, 35.0)):
            await session.command(command)
        assert heat_pump_running(slow_bench)
        await safe_stop_behind_queued_commands(session)
        confirmed = await next_event(
            events, lambda e: e.kind == "safety" and "confirmed" in e.message
        )
        assert confirmed.data["confirmed"]
    finally:
        await session.close()


async def test_a_safe_stop_during_a_run_jumps_the_queued_manual_commands(
    slow_bench: Bench, results: Path
) -> None:
    session = Session(slow_bench, results)
    events = session.events.subscribe("test", maxsize=10_000)
    await session.connect()
    try:
        await session.start_plan(LONG_PLAN)
        await next_event(events, lambda e: e.kind == "command" and "SetHeatPump" in e.message)
        assert heat_pump_running(slow_bench)
        await safe_stop_behind_queued_commands(session)
        assert session.running  # held, latched off, until the operator resumes or aborts it
        assert session.status().phase == Phase.HELD
        assert session.resume()  # the point starts again from its set points
        await next_event(events, lambda e: e.kind == "command" and "SetHeatPump" in e.message)
        assert heat_pump_running(slow_bench)
    finally:
        await session.close()


async def test_a_command_on_its_way_cannot_switch_the_unit_on_after_an_idle_safe_stop(
    slow_bench: Bench, results: Path
) -> None:
    """The latch: a `SetHeatPump(running=True)` already being sent when the safe stop came
    sees it right before its last write, and leaves the unit off."""
    session = Session(slow_bench, results, idle_period_s=PERIOD_S)
    events = session.events.subscribe("test", maxsize=10_000)
    await session.connect()
    try:
        await session.command(SetWater(30.0, 1.0))
        slow_bench.simulator.faults.inject("heat_pump", "delay", seconds=0.3)
        on = session.command(SetHeatPump(True, 35.0))
        await next_event(events, lambda e: e.kind == "operator" and "SetHeatPump" in e.message)
        await session.command(SafeState("operator"))
        slow_bench.simulator.faults.clear("heat_pump")
        with pytest.raises(CommandFailed, match="kept off: a safe stop came first"):
            await on
        assert not heat_pump_running(slow_bench)
        assert all(w.value == 0 for w in slow_bench.simulator.writes("heat_pump", RUNNING))
    finally:
        await session.close()


async def test_an_unconfirmed_idle_safe_state_is_tried_again_until_confirmed(
    slow_bench: Bench, results: Path
) -> None:
    """The unit's link is down when the safe stop comes: an UNSAFE alarm, and the procedure
    is commanded again in the background until the unit, reachable again, is confirmed off."""
    session = Session(slow_bench, results, idle_period_s=PERIOD_S)
    events = session.events.subscribe("test", maxsize=10_000)
    await session.connect()
    try:
        for command in (SetWater(30.0, 1.0), SetHeatPump(True, 35.0)):
            await session.command(command)
        slow_bench.simulator.faults.inject("heat_pump", "drop")
        stop = session.command(SafeState("operator"))
        await next_event(events, lambda e: e.kind == "alarm" and e.message.startswith("UNSAFE"))
        with pytest.raises(CommandFailed, match="not confirmed"):
            await stop
        assert heat_pump_running(slow_bench)  # nothing reached it
        with pytest.raises(RuntimeError, match="safe state not confirmed"):
            await session.start_plan(LONG_PLAN)  # no plan on a bench that may be running
        slow_bench.simulator.faults.clear("heat_pump")
        await next_event(events, lambda e: e.message.startswith("safe state confirmed again"))
        assert not heat_pump_running(slow_bench)
    finally:
        await session.close()
