"""The bench: live channels, set point against actual, plan progress, stability, plots, events."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from bench.tui.history import window_label
from bench.tui.messages import LiveUpdated
from bench.tui.widgets.building import BuildingPanel
from bench.tui.widgets.channel_table import ChannelTable
from bench.tui.widgets.event_log import KIND_GROUPS, EventLog
from bench.tui.widgets.gauges import StabilityGauges
from bench.tui.widgets.performance import Performance
from bench.tui.widgets.plots import LivePlots
from bench.tui.widgets.points_table import PointsTable
from bench.tui.widgets.progress import PlanProgress
from bench.tui.widgets.setpoints import SetpointTable

if TYPE_CHECKING:
    from bench.tui.app import HpbenchApp
    from bench.tui.live import LiveState

MAX_LOG_LINES = 2000
RECENT_KINDS = {"alarm", "interlock", "safety", "instrument", "operator", "point", "run", "state"}


class BenchScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('live')", "Live"),
        Binding("2", "tab('plots')", "Plots"),
        Binding("3", "tab('log')", "Log"),
        Binding("4", "tab('points')", "Points"),
        Binding("w", "window", "Plot window", show=False),  # in `?` and the palette
        Binding("slash", "search", "Search the log", show=False),
        Binding("t", "kinds", "Log: next kind filter", show=False),
        Binding("f", "follow", "Log: follow / hold", show=False),
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
                        yield BuildingPanel(id="building")
                        yield Performance(id="perf")
                        yield StabilityGauges(id="gauges")
                        yield SetpointTable(session.setpoint_pairs(), id="sp")
                yield EventLog(kinds=RECENT_KINDS, id="recent", max_lines=200)
            with TabPane("Plots", id="plots"):
                yield LivePlots(self.hp.live.history, id="plot-grid")
            with TabPane("Log", id="log"):
                with Horizontal(id="log-bar"):
                    hint = "search (/), Enter: back to the log"
                    yield Input(placeholder=hint, id="log-search", compact=True)
                    yield Static("", id="log-mode")
                yield EventLog(id="events", wrap=True, max_lines=MAX_LOG_LINES)
            with TabPane("Points", id="points"):
                yield PointsTable(id="plan-table")
        yield Footer(show_command_palette=False)  # ctrl+p still works; `?` lists it

    def on_mount(self) -> None:
        self._kind_group = 0
        self._show_log_mode()

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
        self.query_one(BuildingPanel).show(live.building)
        self.query_one(Performance).show(live.history.latest)
        self.query_one(StabilityGauges).show(live.gauges)
        self.query_one(SetpointTable).show(live.frame)
        for log in self.query(EventLog):
            log.show(live.events_after(log.last))
        self.query_one(LivePlots).show(events=live.events)
        if self.query_one(TabbedContent).active == "points":
            self.query_one(PointsTable).show(self.hp.point_rows())

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        if tab == "live":
            self.query_one(ChannelTable).focus()
        elif tab == "log":
            self.query_one("#events", EventLog).focus()
        elif tab == "points":
            self.query_one(PointsTable).show(self.hp.point_rows())
            self.query_one(PointsTable).focus()

    # -- the log: search, kind filter, follow --------------------------------------------------
    def action_search(self) -> None:
        self.action_tab("log")
        self.query_one("#log-search", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "log-search":
            self._refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "log-search":
            self.query_one("#events", EventLog).focus()

    def action_kinds(self) -> None:
        self._kind_group = (self._kind_group + 1) % len(KIND_GROUPS)
        self.action_tab("log")
        self._refilter()

    def action_follow(self) -> None:
        self.query_one("#events", EventLog).toggle_follow()
        self._show_log_mode()

    def _refilter(self) -> None:
        search = self.query_one("#log-search", Input).value
        kinds = KIND_GROUPS[self._kind_group][1]
        self.query_one("#events", EventLog).refilter(self.hp.live.events, kinds, search)
        self._show_log_mode()

    def _show_log_mode(self) -> None:
        follow = "following" if self.query_one("#events", EventLog).auto_scroll else "held (f)"
        label = KIND_GROUPS[self._kind_group][0]
        self.query_one("#log-mode", Static).update(f" {label} (t) · {follow}")

    def action_window(self) -> None:
        window = self.query_one(LivePlots).cycle_window()
        self.notify(f"plots show the last {window_label(window)}", timeout=2)
