"""A manual set point during a run: the form starts from the devices' values now (not from a
value typed on an earlier visit), the override is asked first, then badged in the header."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input

from bench.tui.app import HpbenchApp
from bench.tui.screens.confirm import ConfirmScreen
from bench.tui.session import Session

from .conftest import LONG_PLAN, next_event, screen_text, state_to, until
from .test_pilot import start_plan

MakeApp = Callable[..., HpbenchApp]
AIR_SP = "climate_chamber.temperature_sp"


async def test_override_asks_shows_a_badge_and_the_form_is_current(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app(LONG_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: session.connected and app.live.frame is not None)
        await pilot.press("m")
        field = app.screen.query_one("#in-air_temperature", Input)
        await until(pilot, lambda: field.value != "")
        field.value = "18"  # typed, never sent
        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        await until(
            pilot, lambda: app.live.frame is not None and app.live.frame.value(AIR_SP) == 15
        )

        await pilot.press("m")
        field = app.screen.query_one("#in-air_temperature", Input)
        await until(pilot, lambda: field.value == "15")  # the device's set point now

        field.value = "16"
        await pilot.click("#set-air")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "set air: temperature 16.0 °C" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: " MANUAL " in screen_text(app))
        session.abort()
        await until(pilot, lambda: not session.running)
        await until(pilot, lambda: " MANUAL " not in screen_text(app))
