"""The building a load-based point emulates (docs/standards.md §7), live: its mass
temperature, the load delivered against the load demanded, the compressor's state and starts.
Hidden while no load-based point runs, so the screen of a steady-state plan is unchanged."""

from __future__ import annotations

from textual.widgets import Static


class BuildingPanel(Static):
    DEFAULT_CSS = "BuildingPanel { display: none; height: auto; }"

    def show(self, summary: str | None) -> None:
        """`summary`: `EmulationHost.summary()`, None between load-based points."""
        self.display = summary is not None
        if summary is not None:
            self.update(summary.replace("  ", "\n"))  # one item a line: a narrow side column
