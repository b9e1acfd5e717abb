"""Results and runs: the finished points of the current run, and the runs under `results/`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from bench.tui.messages import LiveUpdated, RunsListed
from bench.tui.recorded import list_runs
from bench.tui.screens.run_view import RunViewScreen
from bench.tui.widgets.points_table import PointsTable
from bench.tui.widgets.progress import PlanProgress

if TYPE_CHECKING:
    from bench.tui.app import HpbenchApp

OUTCOME_STYLE = {"done": "green", "aborted": "red", "failed": "red", "manual": "cyan"}


class RunsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('current')", "This run"),
        Binding("2", "tab('past')", "Past runs"),
        Binding("r", "refresh", "Refresh"),
    ]

    @property
    def hp(self) -> HpbenchApp:
        return cast("HpbenchApp", self.app)

    def compose(self) -> ComposeResult:
        yield PlanProgress(id="progress")
        with TabbedContent(initial="current"):
            with TabPane("This run", id="current"):
                yield Static("", id="run-title")
                yield PointsTable(id="current-points")
            with TabPane("Past runs", id="past"):
                yield DataTable(cursor_type="row", id="runs")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for label in ("run", "plan", "created", "outcome", "points"):
            table.add_column(label, key=label)

    def on_screen_resume(self) -> None:
        self.draw()
        self.action_refresh()

    def on_live_updated(self, message: LiveUpdated) -> None:
        self.draw()

    def draw(self) -> None:
        session, live = self.hp.session, self.hp.live
        self.query_one(PlanProgress).show(live.status, live.phase_progress, live.last_alarm)
        title = Text("no run yet in this session", style="dim")
        if session.run_dir is not None:
            state = "running" if session.running else "ended"
            title = Text.assemble((session.run_dir.name, "bold"), f"  {state}")
        self.query_one("#run-title", Static).update(title)
        self.query_one(PointsTable).show(session.points)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one("#runs" if tab == "past" else "#current-points").focus()

    def action_refresh(self) -> None:
        self.list_runs(self.hp.session.results)

    @work(thread=True, exclusive=True, group="runs")
    def list_runs(self, results: Path) -> None:
        self.post_message(RunsListed(list_runs(results)))

    def on_runs_listed(self, message: RunsListed) -> None:
        table = self.query_one("#runs", DataTable)
        cursor = table.cursor_row
        table.clear()
        for run in message.runs:
            table.add_row(
                run.path.name,
                run.plan,
                run.created,
                Text(run.outcome, OUTCOME_STYLE.get(run.outcome, "yellow")),
                run.points if not run.error else Text(run.error, "red"),
                key=str(run.path),
            )
        if message.runs:
            table.move_cursor(row=min(cursor, len(message.runs) - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "runs" and event.row_key.value:
            self.app.push_screen(RunViewScreen(Path(event.row_key.value)))
