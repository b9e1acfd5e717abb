"""The run engine: acquisition, sequencer, store and instruments, on one asyncio loop.

The CLI and the TUI are two faces of this one object: they start `run()`, watch `status()`,
read the frame and event buses, and call `pause / resume / skip / abort`. Nothing here waits on
a subscriber: frames go to the store (never dropped) and to bounded buses (may drop).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.connect import close_all, connect_all, reason
from bench.interlocks import Interlock, Interlocks
from bench.permissives import PermissiveNotMet, Permissives
from bench.run.acquisition import Acquisition
from bench.run.actuation import actuate, commanded, flow_meter
from bench.run.bus import Bus
from bench.run.commands import Command, EmulateBuilding, SafeState, SetHeatPump
from bench.run.emulation import EmulationHost
from bench.run.frame import Frame
from bench.run.identity import IdentityRefused
from bench.run.loadbased import load_based_record
from bench.run.points import PointSpec
from bench.run.results import (
    PointSettings,
    PointWindow,
    missing_results,
    point_window,
    window_results,
)
from bench.run.safe_state import (
    SafeStateReport,
    reach_safe_state,
    reached_event,
    retry_until_confirmed,
    settle,
)
from bench.run.sequencer import (
    FINAL,
    Judgement,
    Measure,
    Phase,
    PointOutcome,
    PointState,
    Sequencer,
)
from bench.station import BenchState
from bench.station_layout import StationLayout
from bench.store import RunStore
from instruments.base import Identity, Instrument, InstrumentError
from instruments.clock import Clock

COMMAND_ATTEMPTS = 3
SETTING_ESTIMATE_S = 900.0  # for the ETA only: a typical set phase (ramp and trim)


@dataclass(frozen=True)
class Event:
    t: float
    kind: str
    message: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Status:
    phase: Phase
    point_index: int  # 0-based; -1 before the first point
    point_count: int
    point_id: str
    time_in_phase_s: float
    eta_point_s: float | None
    eta_plan_s: float | None
    frames: int


class Engine:
    def __init__(
        self,
        *,
        instruments: dict[str, Instrument],
        clock: Clock,
        points: list[PointSpec],
        judgement: Judgement,
        measure: Measure,
        store: RunStore,
        water: PointSettings,  # the station's, for the point calculation and the emulation
        period_s: float,
        done_ids: set[str] | None = None,
        flows_seen: dict[str, float] | None = None,
        first_seq: int = 0,
        interlocks: list[Interlock] | None = None,
        safe: BenchState | None = None,
        final: BenchState | None = None,
        permissives: Permissives | None = None,
        plausible: dict[str, tuple[float, float]] | None = None,
        interlock_frames: int = 2,
        identity: Callable[[Mapping[str, Identity]], str | None] | None = None,
        frames: Bus[Frame] | None = None,
        events: Bus[Event] | None = None,
        layout: StationLayout | None = None,
    ) -> None:
        self.identity = identity  # the unit's identity check (bench/run/identity.py)
        self.instruments = instruments  # every named instrument: connected, read, snapshot
        # role -> the instrument commanding it (without a layout: keyed by role already)
        commands = layout.command_instruments() if layout is not None else None
        self.commanded = commanded(instruments, commands)
        self.meter = flow_meter(instruments, layout)  # the permissive's flow, if not the HM's
        self.period_s = period_s
        self.interlocks = Interlocks(list(interlocks or []), confirm_frames=interlock_frames)
        self.safe = safe or BenchState()
        self.final = final or BenchState()
        self.permissives = permissives or Permissives()
        self._holds: dict[str, str] = {}  # what holds the run -> why
        self._resend_on_release = False  # a safe stop switched the bench off meanwhile
        self._bench_lock = asyncio.Lock()  # one command at a time reaches the bench
        self.unsafe: str | None = None  # why the bench's safe state is not confirmed, if so
        self._latched = False  # in the safe state: nothing may switch the heat pump on
        self._ending = False  # the run is closing: no new background retries
        self._background: set[asyncio.Task[None]] = set()  # command and safe-state retries
        self._safing: set[asyncio.Task[SafeStateReport]] = set()  # safe states under way
        self.clock = clock
        self.store = store
        self.water = water
        self.frames: Bus[Frame] = frames if frames is not None else Bus()
        self.events: Bus[Event] = events if events is not None else Bus()
        self.sequencer = Sequencer(
            points, judgement, measure, self.emit, done_ids=done_ids, flows_seen=flows_seen
        )
        self.acquisition = Acquisition(
            instruments,
            clock,
            period_s,
            self._on_frame,
            on_event=lambda t, kind, msg: self.emit(t, kind, msg, {}),
            first_seq=first_seq,
            plausible=plausible,
            derived=layout.derived().values() if layout is not None else (),
        )
        self._commands: asyncio.Queue[Command] = asyncio.Queue()
        self._manual: list[Command] = []  # the operator's commands still queued
        self.emulation = EmulationHost(  # load-based points (docs/standards.md §7)
            self.commanded,
            clock,
            store,
            water,
            lambda m, d: self.emit(clock.now(), "emulation", m, d),
        )
        self._finished = asyncio.Event()
        self._frame_count = 0
        self.outcomes: list[PointOutcome] = []  # recorded, in point order
        self.on_point: Callable[[PointOutcome, dict[str, Any]], None] | None = None
        # the point calculation, run in a worker thread (a seam: tests slow it down)
        self.calculate: Callable[[PointWindow, PointSettings], dict[str, Any]] = window_results
        self._ended = 0  # the sequencer's outcomes taken for recording
        self._last_record: asyncio.Task[None] | None = None  # records chain in point order

    # -- what the faces see ------------------------------------------------------------------
    def status(self) -> Status:
        seq, now = self.sequencer, self.clock.now()
        point = seq.point
        eta_point = None
        if point is not None:
            spec, elapsed = point.spec, now - seq.phase_since
            eta_point = {
                Phase.SETTING: SETTING_ESTIMATE_S + spec.equilibrium_s + spec.collection_s,
                Phase.STABILISING: spec.equilibrium_s + spec.collection_s,
                Phase.EQUILIBRIUM: max(0.0, spec.equilibrium_s - elapsed) + spec.collection_s,
                Phase.COLLECTING: max(0.0, spec.collection_s - elapsed),
            }.get(seq.phase)
        later = seq.points[seq.index + 1 :] if seq.index >= 0 else seq.points
        rest = sum(
            SETTING_ESTIMATE_S + p.equilibrium_s + p.collection_s
            for p in later
            if p.id not in seq.done_ids
        )
        return Status(
            phase=seq.phase,
            point_index=seq.index,
            point_count=len(seq.points),
            point_id=point.spec.id if point else "",
            time_in_phase_s=now - seq.phase_since,
            eta_point_s=eta_point,
            eta_plan_s=None
            if eta_point is None and seq.phase in FINAL
            else (eta_point or 0) + rest,
            frames=self._frame_count,
        )

    # -- operator actions --------------------------------------------------------------------
    def pause(self) -> None:
        self._operator("pause", self.sequencer.pause)

    def resume(self) -> None:
        """Also ends the operator's safe stop: the point starts again from its set points
        (unless an interlock still holds the run)."""
        if "operator" not in self._holds:
            self._operator("resume", self.sequencer.resume)
            return
        t = self.clock.now()
        self.emit(t, "operator", "resume", {"action": "resume"})
        del self._holds["operator"]
        if not self._holds:
            self._latched = self._resend_on_release = False
            self._queue(self.sequencer.resume(t, "operator", resend=True))

    def safe_stop(self, why: str) -> asyncio.Task[SafeStateReport]:
        """The operator's safe stop, ahead of every queued command (decision 0011): the run
        is held, latched off, until the operator resumes or aborts it. The task ends with the
        confirmed procedure's report."""
        t = self.clock.now()
        self.emit(t, "operator", f"safe stop: {why}", {"action": "safe_stop"})
        safing = self._hold("operator", f"operator safe stop: {why}", safe=True, t=t)
        assert safing is not None
        return safing

    def skip(self) -> None:
        self._operator("skip point", self.sequencer.skip)

    def abort(self) -> None:
        t = self.clock.now()
        self.emit(t, "operator", "abort", {"action": "abort"})
        self._abort(t, "operator")

    def command(self, command: Command) -> None:
        """A manual set point from the operator (commissioning, troubleshooting): logged, then
        carried out like the sequencer's own commands."""
        self.emit(self.clock.now(), "operator", f"manual {command!r}", {"action": "manual"})
        self._manual.append(command)
        self._queue([command])

    def _is_manual(self, command: Command) -> bool:
        """Takes `command` off the operator's commands if it is one of them."""
        for i, manual in enumerate(self._manual):
            if manual is command:
                del self._manual[i]
                return True
        return False

    def _operator(self, action: str, fn: Callable[[float], list[Command]]) -> None:
        t = self.clock.now()
        self.emit(t, "operator", action, {"action": action})
        self._queue(fn(t))

    @property
    def point(self) -> PointState | None:
        """The point in progress (its stability judge is what the TUI's gauges show)."""
        return self.sequencer.point

    # -- plumbing ----------------------------------------------------------------------------
    def emit(self, t: float, kind: str, message: str, data: dict[str, Any]) -> None:
        seq = self.acquisition.next_seq - 1 if self._frame_count else None
        self.store.event(t, kind, message, data, seq=seq)
        self.events.publish(Event(t, kind, message, data))
        if kind == "point":
            self._record_points()

    def _on_frame(self, frame: Frame) -> None:
        self._frame_count += 1
        self.emulation.on_frame(frame)
        self.store.append(frame)
        self.frames.publish(frame)
        self._check_safety(frame)
        self._queue(self.sequencer.on_frame(frame))

    # -- safety ------------------------------------------------------------------------------
    def _check_safety(self, frame: Frame) -> None:
        """Interlocks and the store's health, on every frame, before the sequencer sees it."""
        for change in self.interlocks.check(frame):
            lock, source = change.interlock, f"interlock {change.interlock.name}"
            data = {"interlock": lock.name, "action": lock.action, "tripped": change.tripped}
            if not change.tripped:
                self.emit(frame.t, "interlock", f"{lock.name} cleared", data)
                self._release(source)
                continue
            why = f"{lock.name}: {lock.describe()}"
            self.emit(frame.t, "interlock", f"{why} -> {lock.action}", data)
            if lock.action == "abort":
                self._abort(frame.t, f"interlock {why}")
            else:
                self._hold(source, why, safe=lock.action == "safe_stop", t=frame.t)
        error = self.store.error
        if error is not None and "storage" not in self._holds:
            self.emit(frame.t, "alarm", f"run store failing, frames kept in memory: {error}", {})
            self._hold("storage", f"run store: {error}", safe=True, t=frame.t)
        elif error is None and "storage" in self._holds:
            self.emit(frame.t, "alarm", "run store writing again", {})
            self._release("storage")

    def _hold(
        self, source: str, why: str, *, safe: bool, t: float
    ) -> asyncio.Task[SafeStateReport] | None:
        self._holds[source] = why
        safing = None
        if safe:
            self._resend_on_release = True
            safing = self._urgent_safe_state(t, why)
        self._queue(self.sequencer.hold(t, why))
        return safing

    def _release(self, source: str) -> None:
        if self._holds.pop(source, None) is None or self._holds:
            return
        if self.sequencer.phase == Phase.HELD:
            resend, self._resend_on_release = self._resend_on_release, False
            self._latched = False
            self._queue(self.sequencer.resume(self.clock.now(), "cleared", resend=resend))

    def _abort(self, t: float, why: str) -> None:
        self.sequencer.abort(t, why)
        self._urgent_safe_state(t, f"abort: {why}")
        self._finished.set()

    def _urgent_safe_state(self, t: float, why: str) -> asyncio.Task[SafeStateReport]:
        """Ahead of everything queued: set points still waiting belong to the suspended point
        and are sent again when it resumes."""
        self._latched = True  # from this instant nothing switches the heat pump on
        self.emulation.halt()
        while not self._commands.empty():
            dropped = self._commands.get_nowait()
            self._commands.task_done()
            if self._is_manual(dropped):  # the operator's: not sent again on resuming
                message = f"{dropped!r} not sent: safe stop first ({why})"
                self.emit(t, "command", message, {"dropped": True})
        task = asyncio.create_task(self._reach_safe_state(t, why), name="safe-state")
        self._safing.add(task)
        task.add_done_callback(self._safing.discard)
        return task

    async def _reach_safe_state(self, t_trip: float, why: str) -> SafeStateReport:
        """The heat pump confirmed off is what makes the bench safe; its latency is what is
        reported (the chamber and the water follow, and may be slower)."""
        report = await self._safe_procedure(self.safe, why, t_trip)
        message, data = reached_event(report, t_trip, why, self.period_s)
        self.emit(self.clock.now(), "safety", message, data)
        return report

    async def _safe_procedure(
        self, state: BenchState, why: str, t0: float | None = None
    ) -> SafeStateReport:
        """The confirmed procedure; an unconfirmed result is an alarm kept active (and tried
        again in the background) until a later procedure confirms the safe state."""
        t0 = self.clock.now() if t0 is None else t0
        report = await reach_safe_state(
            self.commanded,
            state,
            on_error=self._safe_step_failed,
            sleep=self.clock.sleep,
            now=self.clock.now,
            backoff_s=self.period_s / 2,
        )
        self._settle_safety(report, state, why, t0)
        return report

    def _settle_safety(
        self, report: SafeStateReport, state: BenchState, why: str, t0: float
    ) -> None:
        now = self.clock.now()
        first = self.unsafe is None
        self.unsafe, events = settle(report, why, now - t0, self.period_s, self.unsafe)
        for kind, message, data in events:
            self.emit(now, kind, message, data)
        if self.unsafe is not None and first and not self._ending:
            self._keep_trying(state)

    def _keep_trying(self, state: BenchState) -> None:
        """Escalation until a procedure confirms the safe state; `_ending` too (see
        `_retry`)."""

        async def again() -> None:
            async with self._bench_lock:
                if self.unsafe is not None:
                    await self._safe_procedure(state, "retry of an unconfirmed safe state")

        retries = retry_until_confirmed(
            again,
            lambda: self.unsafe is not None and not self._ending,
            sleep=self.clock.sleep,
            period_s=self.period_s,
        )
        task = asyncio.create_task(retries, name="safe-state-escalation")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _queue(self, commands: list[Command]) -> None:
        for command in commands:
            self._commands.put_nowait(command)
        if self.sequencer.finished:
            self._finished.set()

    def _record_points(self) -> None:
        """Record every point that has ended (called as each point ends). The calculation runs
        in a worker thread, so acquisition and the UI never wait for it (~16 ms for a 720-frame
        window, more for a long transient one); the load-based record reads the emulation,
        which the next point reuses, so it is taken here."""
        for outcome in self.sequencer.outcomes[self._ended :]:
            self._ended += 1
            if outcome.spec.load_based is not None:
                outcome.load_based = load_based_record(outcome, self.emulation, self.water)
            previous = self._last_record
            self._last_record = asyncio.create_task(
                self._record(outcome, point_window(outcome), previous), name="point-record"
            )

    async def _record(
        self, outcome: PointOutcome, window: PointWindow, previous: asyncio.Task[None] | None
    ) -> None:
        """Compute, then store and publish once every earlier point's record is out. A record
        that cannot be computed is not written: the point is redone on resume, as after a
        crash."""
        results: dict[str, Any] = {}
        failure: Exception | None = None
        if window.frames:
            try:
                results = await asyncio.to_thread(self.calculate, window, self.water)
            except Exception as exc:
                failure = exc
        if previous is not None:
            await asyncio.wait([previous])
        if failure is not None:
            message = f"point {outcome.spec.id}: no record, calculation failed: {failure!r}"
            self.emit(self.clock.now(), "alarm", message, {"point": outcome.spec.id})
            return
        self._write_record(outcome, results)

    def _write_record(self, outcome: PointOutcome, results: dict[str, Any]) -> None:
        missing = missing_results(results) if outcome.status == "valid" else None
        if missing is not None:  # stable is not enough: no numbers, no valid point
            outcome.status, outcome.reason = "invalid", missing
        record: dict[str, Any] = {
            "status": outcome.status,
            "reason": outcome.reason,
            "transient": outcome.transient,
            "defrosts": outcome.defrosts,
            "water_set": outcome.water_set,
            "quantities": outcome.quantities,
            "results": results,
        }
        if outcome.load_based is not None:
            record["load_based"] = outcome.load_based
        frames = outcome.frames
        self.store.put_point(
            outcome.spec.index,
            outcome.spec.id,
            outcome.status,
            record,
            started=outcome.started,
            ended=outcome.ended,
            first_seq=frames[0].seq if frames else None,
            last_seq=frames[-1].seq if frames else None,
        )
        self.outcomes.append(outcome)
        if self.on_point is not None:
            self.on_point(outcome, results)

    async def _records_written(self) -> None:
        """Every ended point's record is in the store (`finish_run` reads them): the last
        record waits for the earlier ones, so waiting for it is waiting for all."""
        while self._last_record is not None and not self._last_record.done():
            await asyncio.wait([self._last_record])

    async def _execute(self, command: Command) -> None:
        async with self._bench_lock:
            await self._execute_now(command)

    async def _execute_now(self, command: Command) -> None:
        if isinstance(command, EmulateBuilding):
            await self.emulation.start(command.point)  # type: ignore[arg-type]
            return
        if isinstance(command, SetHeatPump | SafeState) and self.emulation.current is not None:
            await self.emulation.stop()
        await actuate(
            self.commanded,
            command,
            safe=self.safe,
            final=self.final,
            on_error=self._safe_step_failed,
            may_switch_on=self._may_switch_on,
            kept_off=lambda: self.emit(
                self.clock.now(), "safety", "heat pump kept off: bench held", {}
            ),
            permissives=self.permissives,
            sleep=self.clock.sleep,
            meter=self.meter,
        )

    def _may_switch_on(self) -> bool:
        """Never while latched in a safe state, while the safe state is unconfirmed, or while
        anything but the switching-on command's own failure holds the run."""
        return not self._latched and self.unsafe is None and not set(self._holds) - {"command"}

    def _safe_step_failed(self, role: str, why: str) -> None:
        self.emit(self.clock.now(), "alarm", f"safe state: {role}: {why}", {})

    async def safe_state(self) -> None:
        """The station's safe state, latched: nothing switches the heat pump on afterwards
        (for a run that ends here, e.g. on a signal)."""
        self._latched = True
        await self._safe_procedure(self.safe, "run stopped")

    async def _run_commands(self) -> None:
        while True:
            command = await self._commands.get()
            self._is_manual(command)
            await self._carry_out(command)
            self._commands.task_done()

    async def _carry_out(self, command: Command) -> None:
        if isinstance(command, SafeState):  # confirmed, retried and escalated by itself
            async with self._bench_lock:
                self.emit(self.clock.now(), "command", repr(command), {})
                await self._safe_procedure(
                    self.final if command.final else self.safe, command.reason
                )
            return
        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            try:
                await self._execute(command)
                self.emit(self.clock.now(), "command", repr(command), {})
                break
            except PermissiveNotMet as exc:  # already waited for the flow: no quick retries
                self.emit(self.clock.now(), "safety", f"heat pump kept off: {exc}", {})
                self._command_failed(command)
                return
            except InstrumentError as exc:
                message = f"{command!r} failed (attempt {attempt}): {reason(exc)}"
                self.emit(self.clock.now(), "alarm", message, {})
                await asyncio.sleep(0.2 * attempt)
        else:
            self._command_failed(command)

    def _command_failed(self, command: Command) -> None:
        """Hold the point, drop the commands queued behind this one (a heat pump switched on
        after its water failed would run dry) and keep trying in the background; when it
        succeeds the point's set points are all sent again."""
        kept = []
        while not self._commands.empty():
            queued = self._commands.get_nowait()
            self._commands.task_done()
            if isinstance(queued, SafeState):
                kept.append(queued)
            else:
                self._is_manual(queued)
                self.emit(
                    self.clock.now(), "command", f"dropped {queued!r}: {command!r} failed", {}
                )
        for queued in kept:
            self._commands.put_nowait(queued)
        self._resend_on_release = True
        self._hold("command", f"cannot command {command!r}", safe=False, t=self.clock.now())
        task = asyncio.create_task(self._retry(command), name="retry-command")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _retry(self, command: Command) -> None:
        """Until it succeeds or the run ends: `_ending` too, because a driver's library can
        swallow the cancellation (CPython 3.11 `wait_for`), which would loop here forever."""
        delay = self.period_s
        while not self._ending:
            await self.clock.sleep(delay)
            try:
                await self._execute(command)
            except InstrumentError:
                delay = min(delay * 2, 60.0)
                continue
            self.emit(self.clock.now(), "command", f"{command!r} carried out after retries", {})
            self._release("command")
            return

    # -- the run -----------------------------------------------------------------------------
    async def run(self, *, resumed: bool = False) -> Phase:
        identities = await connect_all(self.instruments)
        t = self.clock.now()
        for role, ident in identities.items():
            self.store.snapshot(t, role, ident, {"address": self.instruments[role].address})
        if not self._unit_identified(t, identities):  # nothing was set: no safe state due
            await close_all(self.instruments)
            await self.store.flush()
            return self.sequencer.phase
        commander = asyncio.create_task(self._run_commands(), name="commands")
        try:
            if resumed:  # re-establish the safe state before setting the next point
                report = await self._safe_procedure(self.safe, "resume")
                if not report.confirmed:
                    return self.sequencer.phase  # never set a point on an unconfirmed bench
                self.emit(t, "run", "resumed: bench put in the safe state first", {})
            self.acquisition.start()
            self._queue(self.sequencer.start(self.clock.now()))
            await self._finished.wait()
            await self._drain_commands()
            await asyncio.gather(*self._safing)
        finally:
            self._ending = True
            await self.acquisition.stop()
            for task in [commander, *self._background]:
                task.cancel()
            await asyncio.gather(*self._background, *self._safing, return_exceptions=True)
            await self.emulation.stop(restore=False)
            with contextlib.suppress(asyncio.CancelledError):
                await commander
            if not self.sequencer.finished:  # cancelled from outside (signal): stay safe
                await self.safe_state()
            await self._records_written()
            await close_all(self.instruments)
            await self.store.flush()
        return self.sequencer.phase

    def _unit_identified(self, t: float, identities: Mapping[str, Identity]) -> bool:
        """False when the station blocks a run on another unit than the plan's: the run
        ends aborted before anything is set (the TUI starts runs here too)."""
        if self.identity is None:
            return True
        try:
            warning = self.identity(identities)
        except IdentityRefused as exc:
            self.emit(t, "identity", str(exc), {"action": "refused"})
            self.sequencer.abort(t, str(exc))
            return False
        if warning:
            self.emit(t, "identity", warning, {"action": "warned"})
        return True

    async def _drain_commands(self) -> None:
        """Let the final safe state reach the bench before the run ends."""
        await self._commands.join()
