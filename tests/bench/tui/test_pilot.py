"""Pilot drives the real app on the simulated bench; assertions are on the engine's states and
events and on what the screen shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import RichLog

from bench.run.commands import SetHeatPump, SetWater
from bench.run.sequencer import Phase
from bench.store import RunStore
from bench.tui.app import HpbenchApp
from bench.tui.screens.confirm import ConfirmScreen
from bench.tui.screens.summary import SummaryScreen
from bench.tui.session import Session

from .conftest import (
    BROKEN_PLAN,
    LONG_PLAN,
    QUICK_PLAN,
    next_event,
    press_now,
    screen_text,
    state_to,
    until,
)

MakeApp = Callable[..., HpbenchApp]


async def start_plan(pilot, app: HpbenchApp) -> None:
    """Plan screen, the plan given on the command line loads; `g` starts it."""
    await until(pilot, lambda: app.session.connected)
    await pilot.press("p")
    await until(pilot, lambda: "2 points (A15W35, A12W35)" in screen_text(app))
    await press_now(pilot, "g")  # the test sees the plan's first minutes


async def test_start_pause_resume_skip_abort(make_app: MakeApp, session: Session) -> None:
    app = make_app(LONG_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    # the chamber lacks capacity: the point stays in setting however long the keys take, so
    # it is paused and resumed there, not some minutes later in its equilibrium
    assert session.bench.simulator is not None
    session.bench.simulator.faults.inject("climate_chamber", "chamber_stuck", offset=3.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        assert session.running and session.engine is not None
        engine = session.engine
        run_dir = session.run_dir
        assert run_dir is not None and run_dir.parent == session.results

        await pilot.press("b", "space")
        await next_event(events, state_to("paused"))
        assert engine.sequencer.phase == Phase.PAUSED
        await until(pilot, lambda: "PAUSED" in screen_text(app))

        await pilot.press("space")
        resumed = await next_event(events, lambda e: e.kind == "state")
        assert resumed.data["from"] == "paused"
        assert resumed.data["to"] in ("setting", "stabilising")

        await pilot.press("space")  # paused again: the point stays where it is while we skip it
        await next_event(events, state_to("paused"))
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        skipped = await next_event(events, lambda e: e.kind == "point")
        assert skipped.data == {"point": "A15W35", "status": "skipped", "reason": "operator"}
        await next_event(events, lambda e: state_to("setting")(e) and e.data["point"] == "A12W35")
        await until(pilot, lambda: "2/2 A12W35" in screen_text(app))

        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await next_event(events, state_to("aborted"))
        assert engine.sequencer.phase == Phase.ABORTED
        await until(pilot, lambda: not session.running)
        await until(pilot, lambda: "ABORTED" in screen_text(app))
        await until(pilot, lambda: session.connected)  # back to watching the bench

    store = RunStore.open(run_dir)
    try:
        actions = [e.data["action"] for e in store.events({"operator"})]
        assert actions == ["pause", "resume", "pause", "skip point", "abort"]
        assert [(p.point_id, p.status) for p in store.points()] == [
            ("A15W35", "skipped"),
            ("A12W35", "failed"),
        ]
        assert store.meta()["outcome"] == "aborted"
    finally:
        store.close()


async def test_a_frame_after_the_screens_are_gone_is_ignored(make_app: MakeApp) -> None:
    """Quitting during a run: the run ends (and bindings would be refreshed) while Textual is
    already taking the screens down - that update must not fail the app."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.live.frame is not None)
    assert not app.screen_stack
    app._was_running = True  # as if the run had just ended
    app.update_screens()


async def test_answering_no_leaves_the_run_alone(make_app: MakeApp, session: Session) -> None:
    app = make_app(LONG_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        for key in ("a", "s"):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert session.running
        assert session.engine is not None and session.engine.sequencer.index == 0
        assert not [e for e in _drain(events) if e.kind == "operator"]
        session.abort()  # end it here, without asking
        await until(pilot, lambda: not session.running)


async def test_plan_runs_to_the_end_and_its_points_show(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app(QUICK_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_plan(pilot, app)
        await next_event(events, state_to("done"), timeout=120)
        await until(pilot, lambda: not session.running)
        assert [p.id for p in session.points] == ["A15W35", "A12W35"]
        # collected and computed (whether a 1-minute equilibrium passes the profile's means is
        # the sequencer's business, not the screen's)
        assert all(p.status in ("valid", "invalid") and p.cop > 1 for p in session.points)
        await until(pilot, lambda: isinstance(app.screen, SummaryScreen))  # the run's end
        await pilot.press("escape")

        await pilot.press("r")
        await until(pilot, lambda: "A12W35" in screen_text(app) and "valid" in screen_text(app))
        await pilot.press("2")  # past runs: this one is listed, and opens read-only
        assert session.run_dir is not None
        await until(pilot, lambda: session.run_dir.name in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: "read-only" in screen_text(app))
        text = screen_text(app)
        assert "plan quick · done" in text and "A15W35" in text
        await pilot.press("2")  # the replayed plots
        await until(pilot, lambda: "COP" in screen_text(app))
        await pilot.press("escape")
        await until(pilot, lambda: "Past runs" in screen_text(app))


async def test_manual_set_point_is_sent_and_logged(
    make_app: MakeApp, session: Session, results: Path
) -> None:
    app = make_app()
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected)
        await pilot.press("m")
        await until(pilot, lambda: "climate chamber" in screen_text(app))
        await pilot.click("#in-air_temperature")
        app.screen.query_one("#in-air_temperature").value = ""
        await pilot.press(*"12.5", "tab")
        app.screen.query_one("#in-air_humidity").value = "60"
        await pilot.press("enter")
        operator = await next_event(events, lambda e: e.kind == "operator")
        assert operator.message == "manual SetAir(temperature_c=12.5, humidity_pct=60.0)"
        await next_event(events, lambda e: e.kind == "command")
        frames = session.frames.subscribe("test")
        while (await frames.get()).value("climate_chamber.temperature_sp") != 12.5:
            pass
        log = app.screen.query_one("#manual-log", RichLog)  # wrapped: one line may be two
        shown = lambda: " ".join(" ".join(s.text for s in log.lines).split())  # noqa: E731
        await until(pilot, lambda: "manual set air: temperature 12.5 °C" in shown())

    manual = [d for d in results.iterdir() if "_manual_" in d.name]  # noqa: ASYNC240
    assert len(manual) == 1
    store = RunStore.open(manual[0])
    try:
        logged = [e.message for e in store.events({"operator"})]
        assert logged == ["manual SetAir(temperature_c=12.5, humidity_pct=60.0)"]
        assert store.meta()["outcome"] == "manual"
        assert store.last_seq() >= 0
    finally:
        store.close()


async def test_manual_set_point_outside_the_limits_is_refused(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app()
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected)
        await pilot.press("m")
        await until(pilot, lambda: "hydraulic module" in screen_text(app))
        app.screen.query_one("#in-water_inlet").value = "90"
        app.screen.query_one("#in-water_flow").value = "1.2"
        await pilot.click("#set-water")
        await until(pilot, lambda: "inlet: 90 not in 5…75" in screen_text(app))
        await pilot.pause()
        assert not [e for e in _drain(events) if e.kind in ("operator", "command")]


async def test_manual_set_point_during_a_run_goes_through_the_engine(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app(LONG_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        await pilot.press("b", "space")
        await next_event(events, state_to("paused"))
        await pilot.press("m")
        await until(pilot, lambda: "heat pump" in screen_text(app))
        app.screen.query_one("#hp-running").value = True
        app.screen.query_one("#in-hp_flow_temperature").value = "40"
        app.screen.query_one("#in-hp_demand").value = "50"
        await pilot.click("#set-hp")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))  # defect 7: asks
        assert "Override the plan during A15W35?" in screen_text(app)
        await pilot.press("y")
        operator = await next_event(events, lambda e: e.kind == "operator")
        assert operator.data == {"action": "manual"}
        assert "SetHeatPump(running=True, flow_temperature_c=40.0, demand_pct=50.0)" in (
            operator.message
        )
        await next_event(events, lambda e: e.kind == "command" and "SetHeatPump" in e.message)
        run_dir = session.run_dir
        session.abort()
        await until(pilot, lambda: not session.running)
    store = RunStore.open(run_dir)
    try:
        assert any("SetHeatPump" in e.message for e in store.events({"operator"}))
    finally:
        store.close()


async def test_plan_problems_show_with_file_and_line(make_app: MakeApp, tmp_path: Path) -> None:
    # A long folder, as a CI checkout has: the problems must still read `file:line: field`.
    folder = tmp_path / ("a-long-checkout-folder-" * 3)
    folder.mkdir()
    plan = folder / BROKEN_PLAN.name
    plan.write_bytes(BROKEN_PLAN.read_bytes())
    app = make_app(plan)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        problems = (
            "not a valid plan",
            "\n broken.yaml:8: points[0].air.wet_bulb_c",
            "\n broken.yaml:11: points[1].air.dry_bulb_c",
        )
        await until(pilot, lambda: all(p in screen_text(app) for p in problems))
        await pilot.press("g")
        await pilot.pause()
        assert not app.session.running


async def test_dead_instrument_shows_stale_and_the_screen_keeps_going(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app()
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected and app.live.frame is not None)
        session.bench.simulator.faults.inject("power_analyser", "drop")
        await next_event(events, lambda e: e.kind == "instrument" and "power_analyser" in e.message)
        await until(pilot, lambda: "no answer" in screen_text(app))
        assert "stale" in screen_text(app)
        await pilot.press("2")  # the screen still answers: plots, then back
        await until(pilot, lambda: "COP" in screen_text(app))
        await pilot.press("1")
        session.bench.simulator.faults.clear("power_analyser")
        await next_event(events, lambda e: "answers again" in e.message)
        await until(pilot, lambda: "no answer" not in screen_text(app))


async def test_quit_during_a_run_asks_and_leaves_the_bench_safe(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app(LONG_PLAN)
    model = session.bench.simulator.model
    async with app.run_test(size=(80, 24)) as pilot:
        await start_plan(pilot, app)
        # the unit is on (on a busy machine a SetWater timeout may drop the first SetHeatPump
        # and the point retries: wait for the unit itself, not for the first command event)
        await until(pilot, lambda: session.bench.simulator.call(lambda: model.heat_pump.running))
        run_dir = session.run_dir
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "hpbench run --resume" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running)
    assert not session.bench.simulator.call(lambda: model.heat_pump.running)
    assert session.bench.simulator.call(lambda: model.chamber.mode) == "STANDBY"
    store = RunStore.open(run_dir)
    try:
        assert store.meta()["outcome"] == "interrupted"
        assert any(e.data.get("action") == "quit" for e in store.events({"operator"}))
    finally:
        store.close()


async def test_quit_when_idle_does_not_ask(make_app: MakeApp, session: Session) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    assert not session.connected


def _drain(sub):
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


async def test_command_palette_puts_the_bench_in_the_safe_state(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app()
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected)
        await pilot.press("ctrl+p", *"safe state")
        await until(pilot, lambda: "Heat pump off, chamber standby" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        operator = await next_event(events, lambda e: e.kind == "operator")
        assert operator.message.startswith("manual SafeState(reason='operator'")
        await next_event(events, lambda e: e.kind == "command" and "SafeState" in e.message)
    model = session.bench.simulator.model
    assert session.bench.simulator.call(lambda: model.chamber.mode) == "STANDBY"


async def test_interlock_outside_a_run_puts_the_bench_in_its_safe_state(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app()
    events = session.events.subscribe("test", maxsize=10_000)
    model = session.bench.simulator.model
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected)
        session.command(SetWater(30.0, 1.6))
        session.command(SetHeatPump(True, 35.0))
        await next_event(events, lambda e: e.kind == "command" and "SetHeatPump" in e.message)
        assert session.bench.simulator.call(lambda: model.heat_pump.running)

        session.bench.simulator.faults.inject("heat_pump", "hp_alarm", code=7)
        # a loaded machine may also trip and clear a watchdog meanwhile: this interlock's event
        tripped = await next_event(
            events, lambda e: e.kind == "interlock" and e.data["interlock"] == "heat pump alarm"
        )
        assert tripped.data == {
            "interlock": "heat pump alarm",
            "action": "safe_stop",
            "tripped": True,
        }
        await next_event(events, lambda e: e.kind == "command" and "SafeState" in e.message)
        assert not session.bench.simulator.call(lambda: model.heat_pump.running)
        await until(pilot, lambda: "heat pump alarm" in screen_text(app))

        session.command(SetHeatPump(True, 35.0))  # refused while the interlock holds
        kept = await next_event(events, lambda e: e.kind == "safety")
        assert kept.message == "heat pump kept off: interlock heat pump alarm tripped"
        assert not session.bench.simulator.call(lambda: model.heat_pump.running)
