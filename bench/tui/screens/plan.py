"""Plan: open and validate a plan, see its points and estimated duration, start it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from bench.plan import Plan, PlanError, estimate, load_plan
from bench.plan.catalog import find_plan
from bench.plan.estimate import format_minutes
from bench.tui.messages import LiveUpdated, PlanFailed, PlanLoaded
from bench.tui.plan_path import PlanPathSuggester
from bench.tui.widgets.plan_points import PlanPoints
from bench.tui.widgets.progress import PlanProgress

if TYPE_CHECKING:
    from bench.tui.app import HpbenchApp


class PlanScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open", "Open plan"),
        Binding("g", "start", "Start plan"),
        Binding("escape", "leave_input", "Leave field"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan | None = None

    @property
    def hp(self) -> HpbenchApp:
        return cast("HpbenchApp", self.app)

    def compose(self) -> ComposeResult:
        yield PlanProgress(id="progress")
        initial = str(self.hp.plan_path) if self.hp.plan_path else ""
        with Horizontal(id="plan-open"):
            hint = "plan file or shipped plan name; → completes, Enter loads"
            yield Input(
                initial,
                placeholder=hint,
                id="plan-path",
                compact=True,
                suggester=PlanPathSuggester(),
            )
            yield Button("Start (g)", id="plan-start", variant="success", compact=True)
        hint = Text("no plan loaded: type its path and press Enter", "dim")
        yield Static(hint, id="plan-summary")
        yield Static("", id="plan-problems")
        yield PlanPoints(id="plan-points")
        yield Footer(show_command_palette=False)  # ctrl+p still works; `?` lists it

    def on_mount(self) -> None:
        if self.hp.plan_path:
            self.load(Path(self.hp.plan_path))
        else:
            self.query_one("#plan-path", Input).focus()

    def on_screen_resume(self) -> None:
        self.query_one(PlanProgress).show(self.hp.header)

    def on_live_updated(self, message: LiveUpdated) -> None:
        self.query_one(PlanProgress).show(self.hp.header)

    # -- loading: in a thread (YAML, pydantic, psychrometrics) ------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.load(Path(find_plan(event.value.strip())))  # a path wins over a shipped name

    @work(thread=True, exclusive=True, group="plan")
    def load(self, path: Path) -> None:
        try:
            plan = load_plan(path)
        except PlanError as exc:
            self.post_message(PlanFailed(path, exc.problems))
            return
        except Exception as exc:  # never a traceback on screen for a user's file
            self.post_message(PlanFailed(path, (f"{path}: {exc}",)))
            return
        self.post_message(PlanLoaded(plan, estimate(plan.points)))

    def on_plan_loaded(self, message: PlanLoaded) -> None:
        plan, est = message.plan, message.estimate
        self.plan = plan
        summary = Text(plan.summary())
        summary.append(
            f"\nestimated {format_minutes(est.total_min)} of bench time, "
            f"at most {format_minutes(est.worst_min)}; g starts it",
            style="dim",
        )
        self.query_one("#plan-summary", Static).update(summary)
        warnings = Text("\n".join(plan.warnings), style="yellow")
        self.query_one("#plan-problems", Static).update(warnings)
        table = self.query_one(PlanPoints)
        table.show(plan, est)
        table.focus()

    def on_plan_failed(self, message: PlanFailed) -> None:
        """The problems name files relative to the plan's folder (the summary has it in full):
        80 columns cannot spare a long absolute path on every line."""
        self.plan = None
        self.query_one("#plan-summary", Static).update(
            Text(f"not a valid plan: {message.path}", style="bold red")
        )
        folder = f"{message.path.parent}{os.sep}"
        shown = (p.removeprefix(folder) for p in message.problems)
        self.query_one("#plan-problems", Static).update(Text("\n".join(shown), style="red"))
        self.query_one(PlanPoints).show(None, None)

    # -- actions -----------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan-start":
            self.action_start()

    def action_open(self) -> None:
        self.query_one("#plan-path", Input).focus()

    def action_leave_input(self) -> None:
        self.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_input":  # shown only while a field has the keys
            return isinstance(self.focused, Input)
        return True

    def action_start(self) -> None:
        if self.plan is None:
            self.notify("load a valid plan first", severity="warning")
            return
        self.hp.start_plan(self.plan.path)
