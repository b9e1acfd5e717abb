"""The hpbench TUI: four screens over one `Session`. The engine owns the run, screens their parts.

The app only wires: it connects the session, pulls what arrived on its buses into the `LiveState`
at most `REFRESH_HZ` times a second and tells the visible screens, and routes the operator's
actions (with a confirmation for the destructive ones) to the session.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from bench.connect import ConnectFailed
from bench.plan import PlanError
from bench.run.commands import Command, SafeState
from bench.run.engine import Status
from bench.run.frame import Frame
from bench.run.planning import PlanNotRunnable
from bench.run.results import WaterSide
from bench.run.runner import EXIT_ABORTED, EXIT_OK, RunRefused
from bench.run.sequencer import Phase
from bench.station import StationError
from bench.store import StoreError
from bench.tui.history import History
from bench.tui.live import LiveState
from bench.tui.messages import LiveUpdated
from bench.tui.screens.bench import BenchScreen
from bench.tui.screens.confirm import ConfirmScreen
from bench.tui.screens.help import HelpScreen
from bench.tui.screens.manual import ManualScreen
from bench.tui.screens.plan import PlanScreen
from bench.tui.screens.runs import RunsScreen
from bench.tui.screens.summary import SummaryScreen, cop_with_uncertainty
from bench.tui.session import Session
from bench.tui.widgets.points_table import PointRow, point_rows
from bench.tui.widgets.progress import DataAges, Header, waiting_for

REFRESH_HZ = 10.0  # redraws a second at most, on average
REFRESH_BURST = 2.0  # redraws allowed back to back
IDLE_REFRESH_HZ = 4.0  # when no frame comes (a bench not connected, events only)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)  # as `hpbench run`, plus a hangup
# Textual's own keys (focus, copy, tabs): not hpbench's, left out of the `?` list
TEXTUAL_KEYS = {"ctrl+q", "ctrl+c", "super+c", "tab", "shift+tab", "left", "right"}
REFUSALS = (PlanError, RunRefused, PlanNotRunnable, StationError, StoreError, RuntimeError)


class HpbenchApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "hpbench"
    MODES: ClassVar[dict[str, str | Callable[[], Screen]]] = {  # type: ignore[type-arg]
        "bench": BenchScreen,
        "plan": PlanScreen,
        "manual": ManualScreen,
        "runs": RunsScreen,
    }
    DEFAULT_MODE = "bench"
    BINDINGS: ClassVar[list[BindingType]] = [
        # the footer keeps what a night needs (q, space, s, a, ?); `?` lists every key
        Binding("q", "quit", "Quit"),
        Binding("space", "pause_resume", "Pause"),
        Binding("s", "skip", "Skip"),
        Binding("a", "abort", "Abort"),
        Binding("question_mark", "help", "Help"),
        Binding("k", "acknowledge", "Acknowledge alarms", show=False),
        Binding("b", "switch_mode('bench')", "Bench screen", show=False),
        Binding("p", "switch_mode('plan')", "Plan screen", show=False),
        Binding("m", "switch_mode('manual')", "Manual screen", show=False),
        Binding("r", "switch_mode('runs')", "Runs screen", show=False),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        session: Session,
        plan_path: Path | None = None,
        *,
        connect: bool = True,
        resume: Path | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.plan_path = plan_path
        self.resume_dir = resume  # an interrupted run to continue once the bench is connected
        self.connect_on_mount = connect
        info = session.bench.station.station
        self.live = LiveState(History(water=WaterSide(info.water_pressure_pa, info.flow_meter)))
        self._frames = session.frames.subscribe("tui", maxsize=1024)
        self._events = session.events.subscribe("tui", maxsize=1024)
        self.ages = DataAges(session.channels())
        self.header = Header(None)
        self.wall_clock: Callable[[], float] = time.time  # the header's wall clock
        self.override = ""  # the point a manual set point overrode the plan at, while it holds
        self._was_running = False
        self._cops: tuple[object, dict[str, tuple[float | None, float | None]]] = (None, {})
        self._last_update = 0.0
        self._leaving = False

    # -- the loop ------------------------------------------------------------------------------
    async def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.stop_on_signal, sig)
        await self.session.start_telemetry()  # returns at once; the broker is reached beside
        self.run_worker(self._follow_frames(), name="refresh", group="refresh")
        self.set_interval(1.0 / IDLE_REFRESH_HZ, self._tick)  # events and clocks without frames
        if self.connect_on_mount:
            self.connect_bench()

    async def _connect(self) -> None:
        try:
            await self.session.connect()
        except ConnectFailed as exc:
            for line in str(exc).splitlines():
                self.session.emit(self.session.clock.now(), "alarm", f"cannot reach {line}", {})
            self.notify(f"cannot reach the bench:\n{exc}", severity="error", timeout=15)
            return
        if self.resume_dir is not None:
            run_dir, self.resume_dir = self.resume_dir, None
            await self._start(self.session.resume_run(run_dir), "resuming")

    async def _follow_frames(self) -> None:
        """Redraw as soon as a frame arrives, at most REFRESH_HZ times a second on average
        (a token bucket, so a late frame does not push every later redraw back): frames that
        arrive faster are coalesced into the next redraw, and all of them go to the plots."""
        tokens, last = REFRESH_BURST, time.monotonic()
        while True:
            frame = await self._frames.get()
            now = time.monotonic()
            tokens = min(REFRESH_BURST, tokens + (now - last) * REFRESH_HZ)
            last = now
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) / REFRESH_HZ)
                tokens, last = 1.0, time.monotonic()
            tokens -= 1.0
            self.update_screens(frame)

    def _tick(self) -> None:
        if time.monotonic() - self._last_update >= 1.0 / IDLE_REFRESH_HZ:
            self.update_screens()

    def update_screens(self, first: Frame | None = None) -> None:
        """Coalesce what arrived since the last update into one update of the visible screens."""
        if not self.screen_stack:  # shutting down (a run can end as the app quits): no screens
            return
        self._last_update = time.monotonic()
        session = self.session
        status = session.status()
        changed = self.live.pull(self._frames, self._events, status, session.engine, first)
        if changed and self.live.frame is not None:
            self.ages.note(self.live.frame)
        header = self._header(status)
        changed = changed or header != self.header
        self.header = header
        if session.running != self._was_running:
            self._was_running = session.running
            self.refresh_bindings()
            if not session.running and session.finished is not None and not self._leaving:
                self.push_screen(SummaryScreen(session.finished))
        if changed:
            for screen in self.screen_stack:
                screen.post_message(LiveUpdated(self.live))

    def overridden(self, command: Command) -> None:
        """A manual set point was carried out: during a run it overrides the plan (a badge in
        the header) until the plan moves to another point or the run ends."""
        if self.session.running and not isinstance(command, SafeState):
            self.override = self.session.status().point_id or "run"
            self.update_screens()

    def _header(self, status: Status) -> Header:
        session, live = self.session, self.live
        if self.override and (not session.running or status.point_id != self.override):
            self.override = ""
        clock = session.clock
        now = clock.now()
        waiting = ""
        point = session.point
        if session.running and point is not None:
            waiting = waiting_for(
                status.phase,
                transient=point.transient,
                in_defrost=point.in_defrost,
                ready=point.ready_since is not None,
            )
        return Header(
            status,
            live.phase_progress,
            live.last_alarm,
            bench_s=int(now),
            wall_s=int(self.wall_clock()),
            speed=clock.speed,
            links=self.ages.links(now, clock.speed),
            waiting=waiting,
            override=self.override,
        )

    def point_rows(self) -> list[PointRow]:
        """Every point of the current (or last) run's plan, as the points tables show them."""
        session = self.session
        plan_ids = session.plan_point_ids
        running = self.live.status.point_id if self.live.status and session.running else ""
        finished = None if session.running else session.finished
        if finished is not None and self._cops[0] is not finished:  # read once a run
            self._cops = (finished, cop_with_uncertainty(finished.run_dir))
        return point_rows(plan_ids, session.points, running, self._cops[1] if finished else None)

    # -- operator actions ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause_resume", "skip", "abort"):
            return True if self.session.running else None  # None: shown, greyed out
        return True

    def action_help(self) -> None:
        """The keys of the screen underneath, then the app's, with what each does."""
        if isinstance(self.screen, HelpScreen):
            return
        keys = [
            (self.get_key_display(active.binding), active.binding.description, active.enabled)
            for key, active in self.active_bindings.items()
            if active.binding.description and key not in TEXTUAL_KEYS
        ]
        title = type(self.screen).__name__.removesuffix("Screen")
        self.push_screen(HelpScreen(title, keys))

    def action_acknowledge(self) -> None:
        """The header's alarms are seen: they go once their cause has cleared."""
        if self.live.alerts.acknowledge():
            self.update_screens()
            for screen in self.screen_stack:
                screen.post_message(LiveUpdated(self.live))

    def action_pause_resume(self) -> None:
        phase = self.session.status().phase
        if phase in (Phase.PAUSED, Phase.HELD):
            self.session.resume()
        else:
            self.session.pause()

    def action_skip(self) -> None:
        point = self.session.status().point_id
        if point is None:
            self.notify("no point is running", timeout=3)
            return

        def skip() -> None:
            if not self.session.skip(point):
                self.notify(f"{point} finished meanwhile: nothing skipped", timeout=5)

        self._confirm(
            f"Skip {point}?",
            "It is recorded as skipped and the plan goes on with the next point.",
            "Skip",
            skip,
        )

    def action_abort(self) -> None:
        run_dir = self.session.run_dir

        def abort() -> None:
            if not self.session.abort(run_dir):
                self.notify("the run ended meanwhile: nothing aborted", timeout=5)

        self._confirm(
            "Abort the run?",
            "The bench goes to the safe state; an aborted run cannot be resumed.",
            "Abort",
            abort,
        )

    async def action_quit(self) -> None:
        if not self.session.running:
            await self._leave()
            return
        self._confirm(
            "A run is in progress. Quit?",
            "The bench is put in the safe state; continue later with\n"
            f"hpbench run --resume {self.session.run_dir}",
            "Quit",
            lambda: self.run_worker(self._leave(), group="leave"),
        )

    async def _leave(self, why: str = "quit") -> None:
        """Leave the bench in its safe state and end the app: exit 3 when that interrupted a
        run (resumable, as `hpbench run` stopped by a signal), else 0."""
        if self._leaving:
            return
        self._leaving = True
        interrupting = self.session.running
        self.notify("leaving the bench in its safe state…", timeout=30)
        await self.session.close(why)
        code = EXIT_ABORTED if interrupting else EXIT_OK
        self.exit(code, return_code=code)

    def stop_on_signal(self, sig: int) -> None:
        """SIGTERM, SIGHUP or SIGINT: the same end as `hpbench run` stopped by a signal."""
        self.run_worker(self._leave(signal.Signals(sig).name), group="leave")

    def _confirm(self, question: str, detail: str, yes: str, then: Callable[[], object]) -> None:
        def answered(ok: bool | None) -> None:
            if ok:
                then()

        self.push_screen(ConfirmScreen(question, detail, yes), answered)

    def start_plan(self, path: Path) -> None:
        self.run_worker(
            self._start(self.session.start_plan(path), "running"),
            name="start",
            group="session",
            exclusive=True,
        )

    def resume_run(self, run_dir: Path) -> None:
        """Continue an interrupted run (the Runs screen's Resume, `hpbench tui --resume`)."""
        self.run_worker(
            self._start(self.session.resume_run(run_dir), "resuming"),
            name="start",
            group="session",
            exclusive=True,
        )

    async def _start(self, starting: Awaitable[Path], what: str) -> None:
        try:
            run_dir = await starting
        except REFUSALS as exc:
            self.notify(str(exc), title="cannot start the run", severity="error", timeout=15)
            return
        self.notify(f"{what} → {run_dir}", timeout=5)
        self.switch_mode("bench")

    async def on_unmount(self) -> None:
        await self.session.close()  # whatever ended the app, the bench is left safe
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    # -- command palette -------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:  # type: ignore[type-arg]
        yield from super().get_system_commands(screen)
        for mode, title in (("bench", "Bench"), ("plan", "Plan"), ("manual", "Manual control")):
            yield SystemCommand(f"{title} screen", f"Show the {title} screen", _switch(self, mode))
        yield SystemCommand("Runs screen", "Results and past runs", _switch(self, "runs"))
        yield SystemCommand("Keys (?)", "Every key of this screen", self.action_help)
        yield SystemCommand("Open plan", "Load a plan file", _on_screen(self, "plan", "open"))
        if not self.session.running:
            yield SystemCommand(
                "Start plan", "Run the loaded plan", _on_screen(self, "plan", "start")
            )
        yield SystemCommand(
            "Plot window", "Cycle the plots' time window", _on_screen(self, "bench", "window")
        )
        if self.session.running:
            yield SystemCommand("Pause / resume", "Pause or resume", self.action_pause_resume)
            yield SystemCommand("Skip point", "Skip the current point", self.action_skip)
            yield SystemCommand("Abort run", "Abort: safe state, not resumable", self.action_abort)
        yield SystemCommand(
            "Safe state", "Heat pump off, chamber standby", _on_screen(self, "manual", "safe_state")
        )
        if not self.session.connected and not self.session.running:
            yield SystemCommand("Connect", "Connect to the bench again", self.connect_bench)

    def connect_bench(self) -> None:
        self.run_worker(self._connect(), name="connect", group="session", exclusive=True)


def _switch(app: HpbenchApp, mode: str) -> Callable[[], object]:
    return lambda: app.switch_mode(mode)


def _on_screen(app: HpbenchApp, mode: str, action: str) -> Callable[[], None]:
    """Switch to a screen and run one of its actions there (the palette's entries)."""

    def run() -> None:
        app.switch_mode(mode)
        app.call_later(lambda: app.screen.run_action(action))

    return run
