"""Plan progress: point i/n, phase, time in phase, ETA of the point and of the plan."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from bench.run.engine import Event, Status
from bench.run.sequencer import FINAL, Phase
from bench.tui.fmt import duration, stamp

PHASE_STYLE = {
    Phase.IDLE: "dim",
    Phase.SETTING: "cyan",
    Phase.STABILISING: "yellow",
    Phase.EQUILIBRIUM: "blue",
    Phase.COLLECTING: "green",
    Phase.COMPUTING: "green",
    Phase.PAUSED: "bold magenta",
    Phase.HELD: "bold magenta",
    Phase.DONE: "bold green",
    Phase.ABORTED: "bold red",
    Phase.FAILED: "bold red",
}
BAR = 12


def plan_bar(status: Status, width: int = BAR) -> Text:
    """Points done, as a bar: the current point counts half way."""
    if status.point_count <= 0:
        return Text("")
    done = status.point_index + (0.5 if status.point_id else 0.0)
    if status.phase in FINAL:
        done = status.point_count if status.phase == Phase.DONE else max(done, 0)
    filled = round(width * max(0.0, done) / status.point_count)
    return Text("█" * filled, style="green") + Text("░" * (width - filled), style="dim")


class PlanProgress(Static):
    def on_mount(self) -> None:
        self._shown: tuple[object, ...] | None = None

    def show(
        self,
        status: Status | None,
        phase_progress: tuple[float, float] | None = None,
        alarm: Event | None = None,
    ) -> None:
        key = (status, phase_progress, alarm)
        if status is None or key == self._shown:
            return
        self._shown = key
        lines = [self._line1(status), self._line2(status, phase_progress, alarm)]
        width = max(20, self.content_size.width or 80)
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        self.update(Text("\n").join(lines), layout=False)  # always two lines

    def _line1(self, s: Status) -> Text:
        style = PHASE_STYLE.get(s.phase, "")
        if s.point_count == 0:
            return Text.assemble(("IDLE", style), f"  no plan running · {s.frames} frames")
        point = f"{s.point_index + 1}/{s.point_count} {s.point_id}" if s.point_id else ""
        if s.phase in FINAL:  # the run has ended: no clock runs on
            return Text.assemble((f"{s.phase.upper():<11}", style), f" {s.point_count} points")
        return Text.assemble(
            (f"{s.phase.upper():<11}", style),
            f" {point}  {duration(s.time_in_phase_s)} in phase  ",
            f"ETA point {duration(s.eta_point_s)} · plan {duration(s.eta_plan_s)}",
        )

    def _line2(
        self, s: Status, phase_progress: tuple[float, float] | None, alarm: Event | None
    ) -> Text:
        line = plan_bar(s)
        if phase_progress is not None:
            done, need = phase_progress
            what = "held" if s.phase == Phase.EQUILIBRIUM else "collected"
            line.append(f" {what} {duration(done)}/{duration(need)}")
        if s.point_count:
            line.append(f"  frames {s.frames}", style="dim")
        if alarm is not None:
            line.append(f"  ⚠ k:ack {stamp(alarm.t)} {alarm.message}", style="red")
        return line
