"""`?`: the keys of the screen underneath and of the app, as one list (the footer shows only
what fits at 80 columns)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,enter", "dismiss", "Close"),
    ]

    def __init__(self, title: str, keys: list[tuple[str, str, bool]]) -> None:
        """`keys`: (key as shown, what it does, whether it works now)."""
        super().__init__()
        self.title_text, self.keys = title, keys

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, description, enabled in self.keys:
            table.add_row(key, description, style="" if enabled else "dim")
        with Vertical(id="help"):
            yield Static(f"Keys: {self.title_text}", id="help-title")
            yield Static(table)
            yield Static("greyed: not now (e.g. no run)  ·  esc / ?: close", classes="dim")
