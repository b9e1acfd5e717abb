"""The header: plan progress (point i/n, phase, ETAs counting down), the active alert, and the
bench's vital signs (bench clock against wall clock, each instrument's data age)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from bench.run.engine import SETTING_ESTIMATE_S, Event, Status
from bench.run.frame import Frame
from bench.run.progress import duration, stamp
from bench.run.sequencer import FINAL, Phase
from bench.tui.fmt import age
from instruments.base import Quality

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
ROLE_SHORT = {
    "climate_chamber": "chamber",
    "power_analyser": "analyser",
    "heat_pump": "pump",
    "hydraulic_module": "hydro",
}
LATE_WALL_S = 5.0  # a last good reading older than this (wall seconds) is late: yellow
LOST_WALL_S = 30.0  # and older than this: red


@dataclass(frozen=True)
class Link:
    """One instrument's data: is it answering, and how old (wall seconds) its last good reading."""

    role: str
    answering: bool
    age_s: float | None  # None: no good reading yet

    @property
    def style(self) -> str:
        if self.age_s is None or self.age_s > LOST_WALL_S:
            return "bold red"
        return "yellow" if self.age_s > LATE_WALL_S or not self.answering else "green"


class DataAges:
    """When each instrument last gave a good reading (bench time), from the frames shown."""

    def __init__(self, channels: dict[str, str]) -> None:
        self.roles = list(dict.fromkeys(cid.split(".", 1)[0] for cid in channels))
        self.last_ok: dict[str, float] = {}
        self.answering: dict[str, bool] = {}

    def note(self, frame: Frame) -> None:
        ok: dict[str, bool] = {}
        for cid, reading in frame.readings.items():
            role = cid.split(".", 1)[0]
            ok[role] = ok.get(role, False) or reading.quality is Quality.OK
        for role, good in ok.items():
            self.answering[role] = good
            if good:
                self.last_ok[role] = frame.t

    def links(self, bench_now: float, speed: float) -> tuple[Link, ...]:
        out = []
        for role in self.roles:
            last = self.last_ok.get(role)
            # whole seconds, as shown: an unchanged header is not redrawn
            wall_age = None if last is None else float(int(max(0.0, bench_now - last) / speed))
            out.append(Link(role, self.answering.get(role, False), wall_age))
        return tuple(out)


@dataclass(frozen=True)
class Header:
    """Everything the header shows, at the resolution it shows it (whole seconds), so that an
    unchanged header is not redrawn."""

    status: Status | None
    phase_progress: tuple[float, float] | None = None
    alarm: Event | None = None
    bench_s: int | None = None  # bench clock, epoch seconds
    wall_s: int | None = None  # wall clock, epoch seconds
    speed: float = 1.0
    links: tuple[Link, ...] = ()
    waiting: str = ""  # what the point waits for instead of a countdown ("waiting for defrost")
    override: str = ""  # the point a manual set point overrides the plan at, while it holds


def waiting_for(phase: Phase, *, transient: bool, in_defrost: bool, ready: bool) -> str:
    """What a point waits for when no clock can count it down (docs/standards.md §2: a transient
    point collects whole defrost cycles, from one defrost end to another)."""
    if in_defrost:
        return "defrost under way"
    if phase == Phase.EQUILIBRIUM and ready:
        return "waiting for defrost"
    if phase == Phase.COLLECTING and transient:
        return "collecting to a defrost end"
    return ""


def countdown(s: Status) -> tuple[float | None, float | None, bool]:
    """(ETA point, ETA plan, at least): the engine estimates a set phase as a fixed length, so
    the time already spent setting is taken off (the ETA counts down); once setting has overrun
    its estimate, or while stabilising (no known length), the ETA is a lower bound."""
    point, plan = s.eta_point_s, s.eta_plan_s
    lower = s.phase == Phase.STABILISING
    if s.phase == Phase.SETTING and point is not None:
        spent = min(s.time_in_phase_s, SETTING_ESTIMATE_S)
        lower = s.time_in_phase_s >= SETTING_ESTIMATE_S
        point, plan = point - spent, None if plan is None else plan - spent
    return point, plan, lower


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
        self._shown: Header | None = None

    def show(self, header: Header) -> None:
        if header.status is None or header == self._shown:
            return
        self._shown = header
        lines = [self._line1(header), self._line2(header), self._line3(header)]
        self.update(Text("\n").join(lines), layout=False)  # three lines, cut (app.tcss)

    def _line1(self, h: Header) -> Text:
        s = h.status
        assert s is not None
        style = PHASE_STYLE.get(s.phase, "")
        if s.point_count == 0:
            return Text.assemble(("IDLE", style), f"  no plan running · {s.frames} frames")
        point = f"{s.point_index + 1}/{s.point_count} {s.point_id}" if s.point_id else ""
        if s.phase in FINAL:  # the run has ended: no clock runs on
            return Text.assemble((f"{s.phase.upper():<11}", style), f" {s.point_count} points")
        badge = Text(" MANUAL ", style="bold black on yellow") if h.override else Text("")
        eta_point, eta_plan, lower = countdown(s)
        at_least = "≥" if lower or h.waiting else ""
        shown_point = h.waiting or f"{at_least}{duration(eta_point)}"
        return Text.assemble(
            badge,
            (f"{s.phase.upper():<11}", style),
            f" {point}  {duration(s.time_in_phase_s)} in phase  ",
            ("ETA point ", ""),
            (shown_point, "magenta" if h.waiting else ""),
            f" · plan {at_least}{duration(eta_plan)}",
        )

    def _line2(self, h: Header) -> Text:
        s = h.status
        assert s is not None
        line = plan_bar(s)
        if h.phase_progress is not None:
            done, need = h.phase_progress
            what = "held" if s.phase == Phase.EQUILIBRIUM else "collected"
            line.append(f" {what} {duration(done)}/{duration(need)}")
        if s.point_count:
            line.append(f"  frames {s.frames}", style="dim")
        if h.alarm is not None:
            line.append(f"  ⚠ k:ack {stamp(h.alarm.t)} {h.alarm.message}", style="red")
        return line

    def _line3(self, h: Header) -> Text:
        """Bench clock against wall clock (they part at --speed), then each instrument's age."""
        line = Text()
        if h.bench_s is not None and h.wall_s is not None:
            line.append(f"bench {stamp(h.bench_s)} ×{h.speed:g}", style="bold")
            wall = dt.datetime.fromtimestamp(h.wall_s, dt.UTC).strftime("%H:%M:%S")
            line.append(f" · wall {wall} ", style="dim")
        for link in h.links:  # the age alone tells a silent instrument: it grows
            line.append(f" {ROLE_SHORT.get(link.role, link.role)} ")
            line.append("no data" if link.age_s is None else age(link.age_s), style=link.style)
        return line
