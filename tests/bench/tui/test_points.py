"""The points table holds the whole plan: pending, running, then each finished point."""

from __future__ import annotations

import re
from collections.abc import Callable

from bench.tui.app import HpbenchApp
from bench.tui.session import PointResult, Session
from bench.tui.widgets.points_table import point_rows

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


def test_a_finished_point_shows_its_cop_with_u_before_the_result_files_exist() -> None:
    """The engine's point record carries U(COP) from the one point calculation: the table
    shows it as soon as the point ends, not only once result.json is written."""
    record = {
        "reason": "",
        "results": {
            "capacity_w": 7012.0,
            "power_w": 1650.0,
            "cop": 4.25,
            "uncertainty": {"available": True, "cop": {"u": 0.045, "U": 0.09, "u_rel": 0.0106}},
        },
    }
    finished = [PointResult.from_record("A7W35", "valid", record)]
    rows = point_rows(["A7W35", "A2W35"], finished, running="A2W35")
    assert [(r.id, r.status, r.cop, r.cop_u) for r in rows] == [
        ("A7W35", "valid", 4.25, 0.09),
        ("A2W35", "running", None, None),
    ]
    # once result.json states them, its numbers are what the table shows
    rows = point_rows(["A7W35"], finished, cops={"A7W35": (4.25, 0.1)})
    assert rows[0].cop_u == 0.1
