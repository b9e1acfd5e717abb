"""Issue 14's safety defects, each reproduced on the real app over the simulated bench:
signals end a run as `hpbench run` does, a failing command never silences the ones after it,
`x` never types into a field, and skip acts on the point the dialog named."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input

from bench.run.bus import Subscription
from bench.run.commands import SetAir
from bench.run.engine import Event
from bench.run.frame import Frame
from bench.store import RunStore
from bench.tui.app import HpbenchApp
from bench.tui.screens.confirm import ConfirmScreen
from bench.tui.screens.manual import ManualScreen
from bench.tui.session import Bench, Session

from .conftest import LONG_PLAN, QUICK_PLAN, next_event, press_now, screen_text, state_to, until
from .test_pilot import start_plan

SET_AIR = "climate_chamber.temperature_sp"
MakeApp = Callable[..., HpbenchApp]


async def test_sigterm_during_a_run_ends_it_as_hpbench_run_does(
    make_app: MakeApp, session: Session
) -> None:
    """Defect 1: SIGTERM left the bench as it was (exit 143, no safe state, no outcome)."""
    app = make_app(LONG_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    model = session.bench.simulator.model
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await start_plan(pilot, app)
        await next_event(events, lambda e: e.kind == "command" and "SetHeatPump" in e.message)
        assert session.bench.simulator.call(lambda: model.heat_pump.running)
        run_dir = session.run_dir
        os.kill(os.getpid(), signal.SIGTERM)
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 3
    assert not session.bench.simulator.call(lambda: model.heat_pump.running)
    assert session.bench.simulator.call(lambda: model.chamber.mode) == "STANDBY"
    assert session.finished is not None and session.finished.resumable
    store = RunStore.open(run_dir)
    try:
        assert store.meta()["outcome"] == "interrupted"
        quits = [e.data for e in store.events({"operator"}) if e.data.get("action") == "quit"]
        assert quits == [{"action": "quit", "why": "SIGTERM"}]
        assert any("stopped by a signal: safe state" in e.message for e in store.events({"run"}))
    finally:
        store.close()


async def test_a_failing_command_is_an_alarm_and_the_next_ones_still_go_out(
    sim_bench: Bench, tmp_path: Path
) -> None:
    """Defect 2: with an unusable results folder the idle command worker died on the first
    manual command; nothing - not even `x` safe state - was carried out after it."""
    unusable = tmp_path / "results"
    unusable.write_text("a file, not a folder")
    session = Session(sim_bench, unusable)
    app = HpbenchApp(session)
    events = session.events.subscribe("test", maxsize=10_000)
    sim, model = sim_bench.simulator, sim_bench.simulator.model
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: session.connected)
        await pilot.press("m")
        await until(pilot, lambda: "climate chamber" in screen_text(app))

        screen = app.screen
        assert isinstance(screen, ManualScreen)
        screen.send(SetAir(80.0, None))  # beyond what the chamber accepts: it refuses
        alarm = await next_event(events, lambda e: e.kind == "alarm" and "SetAir" in e.message)
        assert alarm.message.startswith("SetAir(temperature_c=80.0")
        await until(pilot, lambda: "not carried out" in screen_text(app))
        assert "sent set air" not in screen_text(app)
        assert "⚠" in screen_text(app)  # the header shows the alarm

        app.screen.query_one("#in-air_temperature", Input).value = "12"
        await pilot.click("#set-air")
        await next_event(events, lambda e: e.kind == "command" and "SetAir" in e.message)
        await until(pilot, lambda: "sent set air: temperature 12.0" in screen_text(app))
        frames = session.frames.subscribe("test")
        while (await asyncio.wait_for(frames.get(), 30)).value(SET_AIR) != 12.0:
            pass
        await until(pilot, lambda: "sent set air: temperature 12.0" in screen_text(app))

        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await next_event(events, lambda e: e.kind == "command" and "SafeState" in e.message)
    assert sim.call(lambda: model.chamber.mode) == "STANDBY"
    assert not (tmp_path / "results").is_dir()


async def test_x_on_the_manual_screen_asks_for_the_safe_state_even_from_a_field(
    make_app: MakeApp, session: Session
) -> None:
    """Defect 3: focus came back to the air field after each dialog, and `x` typed into it."""
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: session.connected)
        await pilot.press("m")
        await until(pilot, lambda: "climate chamber" in screen_text(app))
        field = app.screen.query_one("#in-air_temperature", Input)
        await pilot.click("#in-air_temperature")
        field.value = "2"
        for _ in range(2):  # the second time, focus has come back to the field from the dialog
            assert app.focused is field
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            assert field.value == "2"


async def test_skip_acts_only_on_the_point_the_dialog_named(
    make_app: MakeApp, session: Session
) -> None:
    """Defect 5: "Skip A15W35?" answered after A15W35 finished skipped the next point."""
    app = make_app(QUICK_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        await press_now(pilot, "s")  # asked while the quick plan's first point runs
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        named = dialog.question.removeprefix("Skip ").removesuffix("?")  # A15W35, under load A12W35
        await until(pilot, lambda: session.status().point_id != named)  # it finishes meanwhile
        await pilot.press("y")
        await until(pilot, lambda: f"{named} finished meanwhile" in screen_text(app))
        run_dir = session.run_dir
        await until(pilot, lambda: not session.running, timeout=120)
    store = RunStore.open(run_dir)
    try:
        assert not [e for e in store.events({"operator"}) if e.data.get("action") == "skip point"]
        assert "skipped" not in [p.status for p in store.points()]
    finally:
        store.close()


async def test_a_command_without_a_connected_bench_fails_at_once(session: Session) -> None:
    done = session.command(SetAir(10.0, None))
    assert done.done() and "not connected" in str(done.exception())


async def set_air_to_12_5(session: Session, events: Subscription[Event]) -> Subscription[Frame]:
    """Set the chamber from outside the form; returns the frames, read up to the first that
    shows the new set point."""
    session.command(SetAir(12.5, None))
    await next_event(events, lambda e: e.kind == "command" and "SetAir" in e.message)
    frames = session.frames.subscribe("test")
    while (await asyncio.wait_for(frames.get(), 30)).value(SET_AIR) != 12.5:
        pass
    return frames


async def test_the_manual_form_shows_what_the_devices_are_set_to_now(
    make_app: MakeApp, session: Session
) -> None:
    """Defect 7: the form kept the values of its first visit."""
    app = make_app()
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected and app.live.frame is not None)
        await pilot.press("m")
        field = lambda: app.screen.query_one("#in-air_temperature", Input).value  # noqa: E731
        await until(pilot, lambda: field() not in ("", "12.5"))
        await pilot.press("b")
        await set_air_to_12_5(session, events)
        await pilot.press("m")
        await until(pilot, lambda: field() == "12.5")


async def test_the_form_takes_the_devices_value_once_it_can_be_read_again(
    make_app: MakeApp, session: Session
) -> None:
    """Defect 7, again: back on the form while the chamber did not answer, the first frame had
    no set point to show, the visit was counted as filled, and a value typed before stayed."""
    app = make_app()
    events = session.events.subscribe("test", maxsize=10_000)
    assert session.bench.simulator is not None
    faults = session.bench.simulator.faults
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected and app.live.frame is not None)
        await pilot.press("m")
        field = lambda: app.screen.query_one("#in-air_temperature", Input)  # noqa: E731
        await until(pilot, lambda: field().value != "")
        field().value = "18"  # typed, never sent
        await pilot.press("b")
        frames = await set_air_to_12_5(session, events)
        faults.inject("climate_chamber", "drop")
        while (await asyncio.wait_for(frames.get(), 30)).value(SET_AIR) is not None:
            pass
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ManualScreen))
        for _ in range(3):  # the form has drawn frames without the set point
            assert (await asyncio.wait_for(frames.get(), 30)).value(SET_AIR) is None
            await pilot.pause()
        assert field().value == "18"
        faults.clear("climate_chamber")
        await until(pilot, lambda: field().value == "12.5")
