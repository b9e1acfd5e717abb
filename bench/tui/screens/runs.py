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

from bench.tui.browser import open_in_browser
from bench.tui.messages import LiveUpdated, RunsListed
from bench.tui.recorded import RunListing, list_runs
from bench.tui.screens.confirm import ConfirmScreen
from bench.tui.screens.run_view import RunViewScreen
from bench.tui.widgets.points_table import PointsTable
from bench.tui.widgets.progress import PlanProgress

if TYPE_CHECKING:
    from bench.tui.app import HpbenchApp

OUTCOME_STYLE = {
    "done": "green",
    "aborted": "red",
    "failed": "red",
    "manual": "cyan",
    "running": "bold cyan",
    "resumed": "cyan",
}


class RunsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('current')", "This run"),
        Binding("2", "tab('past')", "Past runs"),
        Binding("r", "refresh", "Refresh", show=False),  # in `?`
        Binding("u", "resume_run", "Resume"),
        Binding("o", "open_report", "Report", show=False),  # in `?`: the 80-column footer is full
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
        yield Footer(show_command_palette=False)  # ctrl+p still works; `?` lists it

    def on_mount(self) -> None:
        self._listed: dict[str, RunListing] = {}
        table = self.query_one("#runs", DataTable)
        for label in ("run", "plan", "created", "outcome", "points"):
            table.add_column(label, key=label)

    def on_screen_resume(self) -> None:
        self.draw()
        self.action_refresh()

    def on_live_updated(self, message: LiveUpdated) -> None:
        self.draw()

    def draw(self) -> None:
        session = self.hp.session
        self.query_one(PlanProgress).show(self.hp.header)
        title = Text("no run yet in this session", style="dim")
        if session.run_dir is not None:
            state = "running" if session.running else "ended"
            title = Text.assemble((session.run_dir.name, "bold"), f"  {state}")
        self.query_one("#run-title", Static).update(title)
        self.query_one(PointsTable).show(self.hp.point_rows())

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
        self._listed = {str(run.path): run for run in message.runs}
        running = self.hp.session.run_dir if self.hp.session.running else None
        for run in message.runs:
            outcome = "running" if run.path == running else run.outcome
            table.add_row(
                run.path.name,
                run.plan,
                run.created,
                Text(outcome, OUTCOME_STYLE.get(outcome, "yellow")),
                run.points if not run.error else Text(run.error, "red"),
                key=str(run.path),
            )
        if message.runs:
            table.move_cursor(row=min(cursor, len(message.runs) - 1))

    def action_open_report(self) -> None:
        """Open the report of the past run under the cursor, or of this session's run."""
        run_dir = self.hp.session.run_dir
        if self.query_one(TabbedContent).active == "past":
            table = self.query_one("#runs", DataTable)
            key = None
            if table.row_count:
                key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            run_dir = Path(key) if key else None
        if run_dir is None:
            self.notify("no run chosen", timeout=4)
            return
        self.open_report(run_dir)

    @work(thread=True, group="report")
    def open_report(self, run_dir: Path) -> None:
        report = run_dir / "report.html"
        if not report.is_file():
            message = f"{run_dir.name} has no report (yet): hpbench report {run_dir}"
        elif open_in_browser(report.as_uri()):
            message = f"report opened: {report}"
        else:
            message = f"no browser here (set $BROWSER): {report}"
        self.app.call_from_thread(self.notify, message, timeout=10)

    def action_resume_run(self) -> None:
        """Continue the interrupted run under the cursor of the past runs."""
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0 or self.query_one(TabbedContent).active != "past":
            self.notify("choose an interrupted run in Past runs (2)", timeout=4)
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        listing = self._listed.get(key or "")
        if listing is None or listing.outcome != "interrupted":
            what = listing.outcome if listing else "unknown"
            self.notify(f"only an interrupted run can be resumed (this one: {what})", timeout=4)
            return
        if self.hp.session.running:
            self.notify("a run is in progress", timeout=4)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.hp.resume_run(listing.path)

        self.app.push_screen(
            ConfirmScreen(
                f"Resume {listing.path.name}?",
                "Finished points are kept; the interrupted point starts again.",
                yes="Resume",
            ),
            answered,
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "runs" and event.row_key.value:
            self.app.push_screen(RunViewScreen(Path(event.row_key.value)))
