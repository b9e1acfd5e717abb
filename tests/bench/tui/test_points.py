"""The points table holds the whole plan: pending, running, then each finished point."""

from __future__ import annotations

import re
from collections.abc import Callable

from bench.tui.app import HpbenchApp
from bench.tui.session import Session

from .conftest import LONG_PLAN, next_event, screen_text, state_to, until
from .test_pilot import start_plan

MakeApp = Callable[..., HpbenchApp]


def row(app: HpbenchApp, point: str, status: str) -> bool:
    return re.search(rf"{point} +{status}", screen_text(app)) is not None


async def test_points_tab_shows_every_point_of_the_plan(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app(LONG_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        await pilot.press("b", "4")
        await until(pilot, lambda: row(app, "A15W35", "running"))
        assert row(app, "A12W35", "pending")
        assert session.skip("A15W35")
        await until(pilot, lambda: row(app, "A15W35", "skipped"))
        await until(pilot, lambda: row(app, "A12W35", "running"))
        await pilot.press("r")  # the Runs screen's "This run" shows the same table
        await until(pilot, lambda: row(app, "A15W35", "skipped") and row(app, "A12W35", "running"))
        session.abort()
        await until(pilot, lambda: not session.running)
