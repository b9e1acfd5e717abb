"""Engineering numbers on the Live tab: capacity, power, COP and ΔT while the unit heats, none
while it is off; every channel with fixed decimals; two lines per stability gauge."""

from __future__ import annotations

import re
from collections.abc import Callable

from bench.run.commands import SetHeatPump, SetWater
from bench.tui.app import HpbenchApp
from bench.tui.session import Session
from bench.tui.widgets.channel_table import ChannelTable
from bench.tui.widgets.gauges import StabilityGauges

from .conftest import LONG_PLAN, next_event, screen_text, state_to, until
from .test_pilot import start_plan

MakeApp = Callable[..., HpbenchApp]
HEATING = re.compile(r"capacity +(\d+) W +power +(\d+) W\s.*?COP +(\d+\.\d\d) +ΔT +(-?\d+\.\d\d) K")


async def test_live_tab_shows_capacity_power_cop_and_delta_t(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app(LONG_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected and app.live.frame is not None)
        await until(pilot, lambda: "performance · unit off" in screen_text(app))
        assert re.search(r"COP +— ", screen_text(app))  # no COP with the unit off

        table = app.screen.query_one(ChannelTable)
        assert re.search(r"\d\.\d %", table.text_of("heat_pump.demand_pct"))  # 20.0, never 20
        assert re.search(r"\d\.\d{3} ", table.text_of("power_analyser.PF"))

        await session.command(SetWater(inlet_c=30.0, flow_m3h=1.6))
        await session.command(SetHeatPump(running=True, flow_temperature_c=35.0))
        await until(pilot, lambda: HEATING.search(screen_text(app).replace("\n", " ")) is not None)
        shown = HEATING.search(screen_text(app).replace("\n", " "))
        assert shown is not None
        capacity, power, cop = (float(shown.group(i)) for i in (1, 2, 3))
        assert abs(capacity / power - cop) <= 0.02 + cop * 0.01  # shown values, rounded

        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        await pilot.press("b")
        gauges = app.screen.query_one(StabilityGauges)
        await until(pilot, lambda: bool(app.live.gauges))
        await pilot.pause(0.2)
        assert gauges.content_size.height == 2 * len(app.live.gauges)  # no gauge wraps
        session.abort()
        await until(pilot, lambda: not session.running)
