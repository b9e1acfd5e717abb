"""The building panel of the bench screen: shown only while a load-based point runs."""

from __future__ import annotations

from textual.app import App, ComposeResult

from bench.tui.widgets.building import BuildingPanel

LINE = "building D: t_H 27.50 °C  load 1.00 of 1.38 kW (72 %, last 10 min)  compressor on, 2 starts"


class One(App[None]):
    def compose(self) -> ComposeResult:
        yield BuildingPanel()


async def test_the_panel_shows_the_building_while_a_point_emulates_one() -> None:
    async with One().run_test() as pilot:
        panel = pilot.app.query_one(BuildingPanel)
        assert not panel.display  # a steady-state plan's screen is unchanged
        panel.show(LINE)
        await pilot.pause()
        assert panel.display
        assert str(panel.render()).splitlines() == [
            "building D: t_H 27.50 °C",
            "load 1.00 of 1.38 kW (72 %, last 10 min)",
            "compressor on, 2 starts",
        ]
        panel.show(None)
        await pilot.pause()
        assert not panel.display
