"""The bench: live channels, set point against actual, plan progress, stability, plots, events."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from bench.tui.history import window_label
from bench.tui.messages import LiveUpdated
from bench.tui.session import setpoint_pairs
from bench.tui.widgets.channel_table import ChannelTable
from bench.tui.widgets.event_log import EventLog
from bench.tui.widgets.gauges import StabilityGauges
from bench.tui.widgets.plots import LivePlots
from bench.tui.widgets.progress import PlanProgress
from bench.tui.widgets.setpoints import SetpointTable

if TYPE_CHECKING:
    from bench.tui.app import HpbenchApp
    from bench.tui.live import LiveState

RECENT_KINDS = {"alarm", "interlock", "safety", "instrument", "operator", "point", "run", "state"}


class BenchScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('live')", "Live"),
        Binding("2", "tab('plots')", "Plots"),
        Binding("3", "tab('log')", "Log"),
        Binding("w", "window", "Plot window", show=False),  # in `?` and the palette
    ]

    @property
    def hp(self) -> HpbenchApp:
        return cast("HpbenchApp", self.app)

    def compose(self) -> ComposeResult:
        session = self.hp.session
        yield PlanProgress(id="progress")
        with TabbedContent(initial="live"):
            with TabPane("Live", id="live"):
                with Horizontal(id="live-body"):
                    yield ChannelTable(session.channels(), id="channels")
                    with VerticalScroll(id="side"):
                        yield StabilityGauges(id="gauges")
                        yield SetpointTable(setpoint_pairs(session.bench.instruments), id="sp")
                yield EventLog(kinds=RECENT_KINDS, id="recent", max_lines=200)
            with TabPane("Plots", id="plots"):
                yield LivePlots(self.hp.live.history, id="plot-grid")
            with TabPane("Log", id="log"):
                yield EventLog(id="events")
        yield Footer(show_command_palette=False)  # ctrl+p still works; `?` lists it

    def on_live_updated(self, message: LiveUpdated) -> None:
        self.draw(message.live)

    def on_screen_resume(self) -> None:
        self.draw(self.hp.live)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "plots":
            self.query_one(LivePlots).show(force=True)

    def draw(self, live: LiveState) -> None:
        self.query_one(PlanProgress).show(self.hp.header)
        self.query_one(ChannelTable).show(live.frame)
        self.query_one(StabilityGauges).show(live.gauges)
        self.query_one(SetpointTable).show(live.frame)
        for log in self.query(EventLog):
            log.show(live.events_after(log.last))
        self.query_one(LivePlots).show()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        if tab == "live":
            self.query_one(ChannelTable).focus()
        elif tab == "log":
            self.query_one("#events", EventLog).focus()

    def action_window(self) -> None:
        window = self.query_one(LivePlots).cycle_window()
        self.notify(f"plots show the last {window_label(window)}", timeout=2)
