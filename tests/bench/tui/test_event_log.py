"""The Log tab: readable messages (no Python reprs, no float noise), search, a kind filter, and
follow / hold."""

from __future__ import annotations

from collections.abc import Callable

from bench.tui.app import HpbenchApp
from bench.tui.session import Session
from bench.tui.widgets.event_log import EventLog

from .conftest import screen_text, until

MakeApp = Callable[..., HpbenchApp]
COMMAND = "SetAir(temperature_c=7.0, humidity_pct=86.83887236936457)"
SHOWN = "set air: temperature 7.0 °C, humidity 86.84 %"


def logged(app: HpbenchApp) -> str:
    """What the Log tab's log holds (the header shows the newest alarm too: not this)."""
    return "\n".join(strip.text for strip in app.screen.query_one("#events", EventLog).lines)


async def test_log_is_readable_searchable_filterable_and_can_hold(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        t = session.clock.now()
        session.emit(t, "command", COMMAND, {})
        session.emit(t, "alarm", "power_analyser read failed: timeout", {})
        await pilot.press("3")
        await until(pilot, lambda: SHOWN in screen_text(app))
        assert "SetAir(" not in screen_text(app) and "86.8388" not in screen_text(app)

        await pilot.press("t")  # alarms only
        await until(pilot, lambda: SHOWN not in logged(app))
        assert "read failed: timeout" in logged(app) and "alarms (t)" in screen_text(app)
        for _ in range(4):  # round to every kind again
            await pilot.press("t")
        await until(pilot, lambda: SHOWN in logged(app))

        await pilot.press("slash", *"set air", "enter")
        await until(pilot, lambda: "read failed: timeout" not in logged(app))
        assert SHOWN in logged(app)

        log = app.screen.query_one("#events", EventLog)
        assert log.auto_scroll
        await pilot.press("f")
        await until(pilot, lambda: "held (f)" in screen_text(app))
        assert not log.auto_scroll
