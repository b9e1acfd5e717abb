"""The end of a run started in the TUI, as `hpbench run` prints it: outcome, each point with
its COP ± U (k=2, from result.json), the result files written and where they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from bench.run.finish import Finished

OUTCOME_STYLE = {"done": "bold green", "interrupted": "bold yellow"}
STATUS_STYLE = {"valid": "green", "invalid": "yellow", "failed": "red", "skipped": "dim"}


def cop_with_uncertainty(run_dir: Path) -> dict[str, tuple[float | None, float | None]]:
    """point id -> (COP, its expanded uncertainty U) as result.json states them; empty when
    result.json was not written."""
    try:
        doc = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for point in doc.get("points") or []:
        results: dict[str, Any] = point.get("results") or {}
        uncertainty: dict[str, Any] = point.get("uncertainty") or {}
        cop_u = uncertainty.get("cop") if isinstance(uncertainty.get("cop"), dict) else {}
        out[point.get("id", "")] = (results.get("cop"), (cop_u or {}).get("U"))
    return out


def summary_table(finished: Finished) -> Table:
    cops = cop_with_uncertainty(finished.run_dir)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for label, justify in (("point", "left"), ("status", "left"), ("COP ± U", "right")):
        table.add_column(label, justify=justify)  # type: ignore[arg-type]
    for point in finished.points:
        cop, u = cops.get(point["id"], ((point.get("results") or {}).get("cop"), None))
        shown = "—" if cop is None else f"{cop:.2f}" + (f" ± {u:.2f}" if u is not None else "")
        status = point["status"]
        table.add_row(point["id"], Text(status, STATUS_STYLE.get(status, "")), shown)
    return table


class SummaryScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,space", "dismiss", "Close"),
        Binding("q", "app.quit", "Quit"),  # a modal screen would hold the app's q back
    ]

    def __init__(self, finished: Finished) -> None:
        super().__init__()
        self.finished = finished

    def compose(self) -> ComposeResult:
        f = self.finished
        with Vertical(id="summary"):
            yield Static(
                Text.assemble(
                    ("run ", "bold"),
                    (f.outcome, OUTCOME_STYLE.get(f.outcome, "bold red")),
                    f" · {len(f.points)} points · exit {f.exit_code}",
                ),
                id="summary-title",
            )
            yield Static(summary_table(f), id="summary-points")
            if f.export_error is not None:
                files = Text(f"result files not written: {f.export_error}", style="red")
            else:
                files = Text("files: " + ", ".join(p.name for p in f.written))
            yield Static(files, id="summary-files")
            yield Static(str(f.run_dir), id="summary-path")
            if f.resumable:
                yield Static(f"resume with: hpbench tui --resume {f.run_dir}", id="summary-resume")
            yield Static(Text("enter / esc: close  ·  q: quit", style="dim"))
