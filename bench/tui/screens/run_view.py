"""One recorded run, read-only: its points, its events, and its frames through the same plots."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from bench.store import StoreError
from bench.tui.history import History
from bench.tui.messages import RunOpened
from bench.tui.recorded import open_run
from bench.tui.screens.summary import cop_with_uncertainty
from bench.tui.widgets.event_log import EventLog
from bench.tui.widgets.plots import LivePlots
from bench.tui.widgets.points_table import PointsTable, point_rows


class RunViewScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "close", "Back"),
        Binding("1", "tab('points')", "Points"),
        Binding("2", "tab('replay')", "Plots"),
        Binding("3", "tab('run-events')", "Events"),
    ]

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        self.run_dir = run_dir

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.run_dir.name}  loading…", style="bold"), id="run-view-title")
        with TabbedContent(initial="points"):
            with TabPane("Points", id="points"):
                yield PointsTable(id="run-points")
            with TabPane("Plots", id="replay"):
                yield LivePlots(History(), id="replay-plots")
            with TabPane("Events", id="run-events"):
                yield EventLog(id="run-log", max_lines=5000)
        yield Footer(show_command_palette=False)  # ctrl+p still works; `?` lists it

    def on_mount(self) -> None:
        self.load(self.run_dir)

    @work(thread=True, exclusive=True, group="replay")
    def load(self, run_dir: Path) -> None:
        try:
            run = open_run(run_dir)
        except StoreError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.post_message(RunOpened(run))

    def _failed(self, message: str) -> None:
        self.query_one("#run-view-title", Static).update(Text(message, style="bold red"))

    def on_run_opened(self, message: RunOpened) -> None:
        run = message.run
        meta = run.meta
        title = Text.assemble(
            (run.path.name, "bold"),
            f"  plan {meta.get('plan_name', '?')} · {meta.get('outcome', 'unfinished')} · "
            f"{run.frames} frames · read-only",
        )
        self.query_one("#run-view-title", Static).update(title)
        cops = cop_with_uncertainty(run.path)  # one small file, once
        self.query_one(PointsTable).show(point_rows([], run.points, cops=cops))
        self.query_one(LivePlots).show(run.history, force=True, events=list(enumerate(run.events)))
        self.query_one(EventLog).show(enumerate(run.events, start=1))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "replay":
            self.query_one(LivePlots).show(force=True)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        focus = {"points": PointsTable, "replay": LivePlots, "run-events": EventLog}[tab]
        self.query_one(focus).focus()

    def action_close(self) -> None:
        self.dismiss()
