"""`BenchController`: the open bench, for as long as it is open (docs/decisions/0200).

One object owns the connected instruments, the event log and the frame / event buses, the
manual command queue and the safe-stop latch. Idle, it polls every instrument itself, checks
the station's interlocks on every frame and carries out manual set points one at a time. A plan
is an `Engine` (the sequencer and its run) attached to it: the controller builds it exactly as
`hpbench run` does (`bench/run/runner.py`), hands it its buses, routes manual commands to it,
and ends the run through the same `finish_run`.

A safe stop never waits in a queue (decision 0011): set points still waiting are dropped, the
confirmed procedure starts at once beside a command already on its way, and that command can no
longer switch the heat pump on. Idle or during a run, the `safety` event says how many
acquisition periods it took to confirm the heat pump off.

Outside a run, the first manual command opens a store of its own under `results/`
(`<date>_manual_<id>/run.sqlite`): the frames and events of that commissioning session are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.connect import close_all, connect_all, reason
from bench.controller.bench import Bench
from bench.controller.setpoints import (
    Limit,
    SetpointPair,
    command_channel,
    setpoint_limits,
    setpoint_pairs,
)
from bench.interlocks import Interlocks
from bench.liblog import library_logs_kept_in
from bench.run.acquisition import Acquisition
from bench.run.actuation import actuate, flow_meter, put_bench_in
from bench.run.bus import Bus
from bench.run.commands import Command, SafeState, SetHeatPump
from bench.run.engine import Engine, Event, Status
from bench.run.finish import Finished, finish_run
from bench.run.frame import Frame
from bench.run.runner import (
    Prepared,
    RunRefused,
    bench_channels,
    check_live_channels,
    create_store,
    make_engine,
    prepare_new,
    prepare_resume,
    run_dir_name,
    run_engine,
)
from bench.run.safe_state import (
    SafeStateReport,
    reach_safe_state,
    reached_event,
    retry_until_confirmed,
    settle,
)
from bench.run.sequencer import FINAL, Phase, PointOutcome, PointState
from bench.store import RunStore, StoreError
from bench.telemetry.payloads import RunInfo
from instruments.base import Identity
from instruments.clock import Clock

if TYPE_CHECKING:
    from bench.telemetry.config import TelemetryConfig
    from bench.telemetry.publisher import Publisher

MAX_IDLE_FRAMES_PER_WALL_S = 10.0


class CommandFailed(Exception):
    """A manual command the instruments did not carry out (str() says why)."""


def _fail(done: asyncio.Future[None], why: str) -> None:
    if not done.done():
        done.set_exception(CommandFailed(why))
        done.exception()  # seen: an alarm has told the operator, whether or not anyone awaits


@dataclass
class Request:
    """A command waiting in the idle queue, and who waits for its acknowledgement. `epoch`:
    the safe stops before it; a later safe stop keeps it from switching the heat pump on."""

    command: Command
    source: str  # operator | interlock
    done: asyncio.Future[None]
    epoch: int

    def succeed(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def fail(self, why: str) -> None:
        _fail(self.done, why)


@dataclass
class PointResult:
    """A finished point of the current run, as the results table shows it."""

    id: str
    status: str
    reason: str
    capacity_w: float | None
    power_w: float | None
    cop: float | None
    transient: bool = False
    cop_u: float | None = None  # expanded uncertainty (k=2) of the COP, from the point record

    @classmethod
    def from_record(cls, point_id: str, status: str, record: dict[str, Any]) -> PointResult:
        results = record.get("results") or {}
        cop_u = ((results.get("uncertainty") or {}).get("cop") or {}).get("U")
        return cls(
            point_id,
            status,
            record.get("reason") or "",
            results.get("capacity_w"),
            results.get("power_w"),
            results.get("cop"),
            bool(record.get("transient")),
            cop_u,
        )


class BenchController:
    """The bench while it is open. Everything here runs on one asyncio loop."""

    def __init__(
        self,
        bench: Bench,
        results: Path,
        *,
        idle_period_s: float | None = None,  # bench s; default: at most 10 frames a wall second
        frames: Bus[Frame] | None = None,
        events: Bus[Event] | None = None,
        telemetry: TelemetryConfig | None = None,
        telemetry_log: Callable[[str], None] | None = None,  # default: the event log
        watch_after_run: bool = True,  # False: a run's end closes the bench (`hpbench run`)
    ) -> None:
        self.bench = bench
        self.watch_after_run = watch_after_run
        self.results = results
        self.idle_period_s = idle_period_s
        self.frames: Bus[Frame] = frames if frames is not None else Bus()
        self.events: Bus[Event] = events if events is not None else Bus()
        self.engine: Engine | None = None  # the attached run (kept after it ends, for reading)
        self.prepared: Prepared | None = None
        self.points: list[PointResult] = []  # finished points of the current (or last) run
        self.finished: Finished | None = None  # how the last run ended
        self.connected = False
        self.limits: dict[str, Limit] = setpoint_limits(bench.commanded, bench.station.limits)
        self._idle: Acquisition | None = None
        self._worker: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Request] = asyncio.Queue()
        self._epoch = 0  # safe stops so far (the idle latch)
        self._safing: set[asyncio.Task[None]] = set()
        self.unsafe: str | None = None  # why the bench's safe state is not confirmed, if so
        self._escalation: asyncio.Task[None] | None = None  # retries of an unconfirmed one
        self._awaiting: dict[str, list[asyncio.Future[None]]] = {}  # run: repr -> acks
        self._ack_follower: asyncio.Task[None] | None = None
        self._manual_store: RunStore | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._stop_run = asyncio.Event()
        self._commanded = False  # set points sent since the last safe state
        self._closed = False
        self._frames_idle = 0
        self._interlocks = Interlocks([])
        self._safety_trip = ""  # a tripped safe_stop / abort interlock, outside a run
        self._run_store_open = False
        self.publisher: Publisher | None = None
        if telemetry is not None:
            from bench.telemetry.publisher import Publisher

            self.publisher = Publisher(telemetry, log=telemetry_log or self._telemetry_line)
            self.publisher.attach(self)

    # -- what views read ---------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.bench.clock

    @property
    def running(self) -> bool:
        """A plan is running (its engine drives the bench)."""
        return self._run_task is not None and not self._run_task.done()

    @property
    def run_dir(self) -> Path | None:
        return self.prepared.run_dir if self.prepared else None

    @property
    def point(self) -> PointState | None:
        """The run's point in progress (its stability judge), None between points."""
        return self.engine.point if self.engine is not None else None

    @property
    def period_s(self) -> float:
        if self.idle_period_s is not None:
            return self.idle_period_s
        return max(1.0, self.clock.speed / MAX_IDLE_FRAMES_PER_WALL_S)

    def status(self) -> Status:
        if self.engine is not None:
            return self.engine.status()
        return Status(Phase.IDLE, -1, 0, "", 0.0, None, None, self._frames_idle)

    def channels(self) -> dict[str, str]:
        """Every channel of the bench (id -> unit), in display order."""
        return bench_channels(self.bench.station, self.bench.instruments)

    def setpoint_pairs(self) -> list[SetpointPair]:
        return setpoint_pairs(self.bench.instruments, self.bench.commands)

    def command_channel(self, role: str, command: str) -> str | None:
        return command_channel(self.bench.instruments, role, command, self.bench.commands)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start_telemetry(self) -> None:
        """Start publishing (returns at once: connecting to the broker happens beside)."""
        if self.publisher is not None and self.publisher.connected is None:
            await self.publisher.start()

    def _telemetry_line(self, line: str) -> None:
        self.emit(self.clock.now(), "telemetry", line, {})

    async def connect(self) -> dict[str, Identity]:
        """Connect every instrument and start watching them; what each one reported.
        Raises ConnectFailed."""
        identities = await connect_all(self.bench.instruments)
        self.connected = True
        for role, ident in identities.items():
            self.emit(self.clock.now(), "instrument", f"{role}: {ident}", {"role": role})
        self._interlocks = Interlocks(self.bench.station.all_interlocks())
        self._safety_trip = ""
        self._idle = Acquisition(
            self.bench.instruments,
            self.clock,
            self.period_s,
            self._on_idle_frame,
            on_event=lambda t, kind, msg: self.emit(t, kind, msg, {}),
            derived=self.bench.station.layout.derived().values(),
        )
        self._idle.start()
        self._worker = asyncio.create_task(self._run_idle_commands(), name="manual-commands")
        return identities

    def read_errors(self) -> dict[str, str]:
        """Role -> why the idle acquisition's last read of it failed ("" if it answered)."""
        pollers = self._idle.pollers if self._idle is not None else []
        return {p.role: p.error for p in pollers}

    async def _stop_idle(self) -> None:
        if self._idle is not None:
            await self._idle.stop()
            self._idle = None
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await asyncio.gather(*self._safing, return_exceptions=True)
        if self._escalation is not None:  # a run's engine or the close takes over
            self._escalation.cancel()
            await asyncio.gather(self._escalation, return_exceptions=True)
            self._escalation = None

    async def close(self, why: str = "quit") -> None:
        """Stop whatever runs and leave the bench in the safe state (a run interrupted this way
        can be resumed with `hpbench run --resume`). `why`: the operator's quit or the signal
        that ended the app. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._leave_bench(why)
        finally:
            if self.publisher is not None:  # last: the safe state and the run's end go out too
                await self.publisher.close()

    async def _leave_bench(self, why: str) -> None:
        if self.running:
            assert self._run_task is not None
            self.emit(
                self.clock.now(),
                "operator",
                f"{why} during the run: safe state; resume with hpbench run --resume "
                f"{self.run_dir}",
                {"action": "quit", "why": why},
            )
            self._stop_run.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run_task
            return
        await self._stop_idle()
        if self.connected and (self._commanded or self.unsafe is not None):
            safe = self.bench.station.safe_state
            await put_bench_in(self.bench.commanded, safe, self._safe_step_failed)
            self.emit(self.clock.now(), "command", f"safe state ({why})", {})
        await close_all(self.bench.instruments)
        self.connected = False
        await self._close_manual_store()

    # -- operator actions on a run -----------------------------------------------------------
    def pause(self) -> bool:
        return self._on_run(Engine.pause)

    def resume(self) -> bool:
        return self._on_run(Engine.resume)

    def skip(self, point_id: str | None = None) -> bool:
        """Skip the current point - only if it is still `point_id` (the one the operator was
        asked about): False when that point finished meanwhile, and nothing is skipped."""
        if point_id is not None and self.status().point_id != point_id:
            return False
        return self._on_run(Engine.skip)

    def abort(self, run_dir: Path | None = None) -> bool:
        """Abort the run - only if it is still the one in `run_dir`."""
        if run_dir is not None and self.run_dir != run_dir:
            return False
        return self._on_run(Engine.abort)

    def _on_run(self, action: Callable[[Engine], None]) -> bool:
        if not self.running or self.engine is None:
            return False
        action(self.engine)
        return True

    # -- commands ----------------------------------------------------------------------------
    def command(self, command: Command) -> asyncio.Future[None]:
        """A manual set point (or the safe state): logged as an operator event, then carried
        out - by the engine during a run, by the idle queue outside one. The future is done
        when the instruments acknowledged it, and fails (CommandFailed) when they did not.

        The safe state jumps every queue (decision 0011)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commanded = not isinstance(command, SafeState)
        if self.running and self.engine is not None:
            if isinstance(command, SafeState):
                self._ack_safe_stop(self.engine.safe_stop(command.reason), done)
                return done
            self._awaiting.setdefault(repr(command), []).append(done)
            self.engine.command(command)
            return done
        if self._worker is None:
            _fail(done, f"{command!r} not sent: the bench is not connected")
            self.emit(self.clock.now(), "alarm", f"{command!r} not sent: bench not connected", {})
            return done
        if isinstance(command, SafeState):
            self.emit(self.clock.now(), "operator", f"manual {command!r}", {"action": "manual"})
            self._safe_stop(command, done)
        else:
            self._queue.put_nowait(Request(command, "operator", done, self._epoch))
        return done

    @staticmethod
    def _ack_safe_stop(safing: asyncio.Task[SafeStateReport], done: asyncio.Future[None]) -> None:
        def settled(task: asyncio.Task[SafeStateReport]) -> None:
            if task.cancelled():
                _fail(done, "the run ended before the safe state was confirmed")
            elif (exc := task.exception()) is not None:
                _fail(done, f"safe state failed: {reason(exc)}")
            elif not task.result().confirmed:
                _fail(done, f"safe state not confirmed: {task.result().describe()}")
            elif not done.done():
                done.set_result(None)

        safing.add_done_callback(settled)

    def _safe_stop(self, command: SafeState, done: asyncio.Future[None] | None = None) -> None:
        """Idle: ahead of everything queued, and latched against what is already on its way."""
        t = self.clock.now()
        self._epoch += 1
        self._commanded = False
        self._drop_queued(f"{command!r} asked for first")
        task = asyncio.create_task(self._reach_safe_state(t, command, done), name="safe-stop")
        self._safing.add(task)
        task.add_done_callback(self._safing.discard)

    async def _reach_safe_state(
        self, t_trip: float, command: SafeState, done: asyncio.Future[None] | None
    ) -> None:
        report = await self._safe_procedure(command.reason, t_trip)
        message, data = reached_event(report, t_trip, command.reason, self.period_s)
        self.emit(self.clock.now(), "safety", message, data)
        if not report.confirmed:
            if done is not None:
                _fail(done, f"safe state not confirmed: {report.describe()}")
            return
        self.emit(self.clock.now(), "command", repr(command), {})
        if done is not None and not done.done():
            done.set_result(None)

    async def _safe_procedure(self, why: str, t0: float) -> SafeStateReport:
        """The confirmed procedure; an unconfirmed result is an alarm kept active, and tried
        again in the background until a later procedure confirms the safe state."""
        report = await reach_safe_state(
            self.bench.commanded,
            self.bench.station.safe_state,
            on_error=self._safe_step_failed,
            sleep=self.clock.sleep,
            now=self.clock.now,
            backoff_s=self.period_s / 2,
        )
        now, first = self.clock.now(), self.unsafe is None
        self.unsafe, events = settle(report, why, now - t0, self.period_s, self.unsafe)
        for kind, message, data in events:
            self.emit(now, kind, message, data)
        if self.unsafe is not None and first:
            self._escalation = asyncio.create_task(
                retry_until_confirmed(
                    lambda: self._safe_procedure(
                        "retry of an unconfirmed safe state", self.clock.now()
                    ),
                    lambda: self.unsafe is not None,
                    sleep=self.clock.sleep,
                    period_s=self.period_s,
                ),
                name="safe-state-escalation",
            )
        return report

    def _drop_queued(self, why: str) -> None:
        while not self._queue.empty():
            request = self._queue.get_nowait()
            message = f"{request.command!r} not sent: {why}"
            self.emit(self.clock.now(), "command", message, {"dropped": True})
            request.fail(message)

    async def _run_idle_commands(self) -> None:
        """Carry out queued commands one by one, each after any safe stop under way; a failing
        command is an alarm and never ends this loop."""
        while True:
            request = await self._queue.get()
            await asyncio.gather(*self._safing, return_exceptions=True)
            try:
                await self._carry_out_idle(request)
            except Exception as exc:
                message = f"{request.command!r} failed: {reason(exc)}"
                self.emit(self.clock.now(), "alarm", message, {"command": repr(request.command)})
                request.fail(message)
            else:
                self.emit(self.clock.now(), "command", repr(request.command), {})
                request.succeed()

    async def _carry_out_idle(self, request: Request) -> None:
        command = request.command
        try:
            await self._ensure_manual_store()
        except (OSError, StoreError) as exc:  # the command still goes out: the bench first
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.emit(self.clock.now(), "alarm", f"manual session not recorded: {why}", {})
        if request.source == "operator":
            self.emit(self.clock.now(), "operator", f"manual {command!r}", {"action": "manual"})
        if isinstance(command, SetHeatPump) and command.running and self._safety_trip:
            why = f"heat pump kept off: interlock {self._safety_trip} tripped"
            self.emit(self.clock.now(), "safety", why, {})
            raise CommandFailed(why)
        failed: list[str] = []

        def step_failed(role: str, why: str) -> None:
            failed.append(f"{role}: {why}")
            self._safe_step_failed(role, why)

        station = self.bench.station
        await actuate(
            self.bench.commanded,
            command,
            safe=station.safe_state,
            final=station.final_state,
            on_error=step_failed,
            may_switch_on=lambda: request.epoch == self._epoch and self._may_switch_on(),
            kept_off=lambda: failed.append("heat pump kept off: a safe stop came first"),
            meter=flow_meter(self.bench.instruments, station.layout),
        )
        if failed:
            raise CommandFailed("; ".join(failed))

    def _may_switch_on(self) -> bool:
        """Never while an interlock is tripped or the safe state is unconfirmed."""
        return not self._safety_trip and self.unsafe is None

    async def _follow_acks(self) -> None:
        """During a run the engine carries out manual commands: its `command` and `alarm`
        events say whether the instruments acknowledged them."""
        sub = self.events.subscribe("controller-acks", maxsize=1024)
        try:
            while True:
                event = await sub.get()
                if event.kind not in ("command", "alarm"):
                    continue
                for key in list(self._awaiting):
                    if not event.message.startswith(key):
                        continue
                    for done in self._awaiting.pop(key):
                        if done.done():
                            continue
                        if event.kind == "command" and not event.data.get("dropped"):
                            done.set_result(None)
                        else:
                            _fail(done, event.message)
        finally:
            self.events.unsubscribe(sub)
            for futures in self._awaiting.values():
                for done in futures:
                    _fail(done, "the run ended before it was carried out")
            self._awaiting.clear()

    def _safe_step_failed(self, role: str, why: str) -> None:
        self.emit(self.clock.now(), "alarm", f"safe state: {role}: {why}", {})

    # -- plans -------------------------------------------------------------------------------
    async def start_plan(self, plan_path: Path) -> Path:
        """Check the plan as `hpbench run` does, make its run directory and store, and run it.

        Raises what `prepare_new` raises (PlanError, RunRefused, PlanNotRunnable,
        StationError) before the bench is touched; returns the run directory."""
        self._check_can_run()
        bench = self.bench
        prepared, warnings = await asyncio.to_thread(
            prepare_new,
            plan_path,
            bench.station_path,
            sim=bench.sim,
            speed=bench.speed,
            results=self.results,
        )
        return await self._launch(prepared, warnings)

    async def resume_run(self, run_dir: Path) -> Path:
        """Continue an interrupted run as `hpbench run --resume` does: plan and station from
        its store, finished points kept. Raises RunRefused (and what `prepare_resume`
        raises: StoreError, PlanError, StationError) before the bench is touched."""
        self._check_can_run()
        prepared, warnings = await asyncio.to_thread(prepare_resume, run_dir)
        if prepared.sim != self.bench.sim:
            assert prepared.store is not None
            await asyncio.to_thread(prepared.store.close)
            where = "the simulated bench" if prepared.sim else "hardware"
            raise RunRefused(f"{run_dir}: this run was recorded on {where}; resume it there")
        return await self._launch(prepared, warnings)

    async def launch(
        self,
        prepared: Prepared,
        stop: asyncio.Event,
        *,
        before_finish: Callable[[RunStore], None] | None = None,
    ) -> Engine:
        """`hpbench run`: start `prepared` (checked, its store created) on this connected bench;
        `stop` (a signal) ends it in the safe state, resumable. `before_finish` reads the run's
        store once the run is over, before `finish_run` closes it. Returns the engine before it
        runs its first step; `run_ended` waits for the end."""
        self._check_can_run()
        await self._launch(prepared, [], stop=stop, before_finish=before_finish)
        assert self.engine is not None
        return self.engine

    async def run_ended(self) -> Finished:
        """How the run started last ended, once `finish_run` has written its result files."""
        if self._run_task is not None:
            await asyncio.shield(self._run_task)
        assert self.finished is not None
        return self.finished

    def _check_can_run(self) -> None:
        if self.running:
            raise RuntimeError("a plan is already running")
        if not self.connected:
            raise RuntimeError("the bench is not connected")
        if self.unsafe is not None:  # no plan on a bench that may still be running
            raise RuntimeError(f"the bench's {self.unsafe}")

    async def _launch(
        self,
        prepared: Prepared,
        warnings: list[str],
        *,
        stop: asyncio.Event | None = None,
        before_finish: Callable[[RunStore], None] | None = None,
    ) -> Path:
        bench = self.bench
        try:
            check_live_channels(prepared, self.channels())
        except RunRefused:
            if prepared.store is not None:
                await asyncio.to_thread(prepared.store.close)
            raise
        await self._stop_idle()
        await self._close_manual_store()
        await close_all(bench.instruments)  # the engine connects them itself
        self.connected = False  # the engine's now; connected again when the run ends
        if prepared.store is None:
            try:
                await asyncio.to_thread(create_store, prepared, self.channels(), warnings)
            except BaseException:
                await self._reconnect()  # back to watching the bench; the caller reports why
                raise
        engine = make_engine(
            prepared, bench.instruments, bench.clock, frames=self.frames, events=self.events
        )
        engine.on_point = self._on_point
        self.engine, self.prepared, self.finished = engine, prepared, None
        self.points = self._recorded_points(prepared)
        self._ack_follower = asyncio.create_task(self._follow_acks(), name="run-acks")
        self._stop_run = stop if stop is not None else asyncio.Event()
        self._commanded = True
        self._run_store_open = True
        if self.publisher is not None:
            self.publisher.run_started(RunInfo.from_prepared(prepared), engine)
        self._run_task = asyncio.create_task(self._run(engine, prepared, before_finish), name="run")
        for warning in warnings:
            self.emit(bench.clock.now(), "run", f"warning: {warning}", {})
        return prepared.run_dir

    @staticmethod
    def _recorded_points(prepared: Prepared) -> list[PointResult]:
        """A resumed run's finished points (a new run has none)."""
        if not prepared.resumed or prepared.store is None:
            return []
        return [
            PointResult.from_record(r.point_id, r.status, r.record or {})
            for r in prepared.store.points()
            if r.point_id in prepared.done_ids
        ]

    def _on_point(self, outcome: PointOutcome, results: dict[str, Any]) -> None:
        record = {"reason": outcome.reason, "transient": outcome.transient, "results": results}
        self.points.append(PointResult.from_record(outcome.spec.id, outcome.status, record))

    async def _run(
        self,
        engine: Engine,
        prepared: Prepared,
        before_finish: Callable[[RunStore], None] | None,
    ) -> None:
        """Run the engine as `hpbench run` does, then end the run through the same
        `finish_run`: store closed, result files and their checksums written."""
        phase = Phase.FAILED
        with library_logs_kept_in(prepared.run_dir / "hpbench.log"):
            try:
                phase = await run_engine(engine, prepared, self._stop_run)
            except Exception as exc:  # the engine failed (e.g. an instrument unreachable)
                self.emit(self.clock.now(), "alarm", f"run ended: {reason(exc)}", {})
                if prepared.store is not None:
                    prepared.store.put_meta("outcome", "failed")
                with contextlib.suppress(Exception):
                    await close_all(self.bench.instruments)
            finally:
                self._run_store_open = False
                if self._ack_follower is not None:
                    self._ack_follower.cancel()
                    await asyncio.gather(self._ack_follower, return_exceptions=True)
                if self.publisher is not None:
                    self.publisher.run_ended(str(engine.sequencer.phase))
            self.finished = await asyncio.to_thread(
                _finish, prepared, phase, engine.unsafe, before_finish
            )
        files = (
            f"result files not written: {self.finished.export_error}"
            if self.finished.export_error
            else f"{len(self.finished.written)} result files written"
        )
        self.emit(self.clock.now(), "run", f"run {self.finished.outcome}: {files}", {})
        if engine.sequencer.phase in FINAL:
            self._commanded = False  # the engine left the bench in the safe state
        if not self._closed and self.watch_after_run:
            await self._reconnect()

    async def _reconnect(self) -> None:
        try:
            await self.connect()
        except Exception as exc:
            self.emit(self.clock.now(), "alarm", f"cannot watch the bench: {exc}", {})

    # -- the event log and the manual store --------------------------------------------------
    def emit(self, t: float, kind: str, message: str, data: dict[str, Any]) -> None:
        """An event for the log: in the run's store during a run, in the manual store when
        there is one; always on the event bus."""
        if self._run_store_open and self.prepared is not None and self.prepared.store:
            self.prepared.store.event(t, kind, message, data)  # the run's store
        elif self._manual_store is not None:
            self._manual_store.event(t, kind, message, data)
        self.events.publish(Event(t, kind, message, data))

    def _on_idle_frame(self, frame: Frame) -> None:
        self._frames_idle += 1
        if self._manual_store is not None:
            self._manual_store.append(frame)
        self.frames.publish(frame)
        self._check_interlocks(frame)

    def _check_interlocks(self, frame: Frame) -> None:
        """The station's interlocks hold outside a run too: a `safe_stop` or `abort` trip puts
        the bench in its safe state and keeps manual commands from switching the unit on."""
        for change in self._interlocks.check(frame):
            lock = change.interlock
            data = {"interlock": lock.name, "action": lock.action, "tripped": change.tripped}
            if not change.tripped:
                self.emit(frame.t, "interlock", f"{lock.name} cleared", data)
                if self._safety_trip == lock.name:
                    self._safety_trip = ""
                continue
            self.emit(
                frame.t, "interlock", f"{lock.name}: {lock.describe()} -> {lock.action}", data
            )
            if lock.action in ("safe_stop", "abort") and self._commanded:
                self._safety_trip = lock.name
                self._safe_stop(SafeState(f"interlock {lock.name}"))

    async def _ensure_manual_store(self) -> None:
        if self._manual_store is not None:
            return
        now = dt.datetime.now(dt.UTC)
        run_dir = self.results / run_dir_name("manual", now, secrets.token_hex(3))
        store = await asyncio.to_thread(
            RunStore.create,
            run_dir / "run.sqlite",
            run_id=run_dir.name.rsplit("_", 1)[-1],
            plan_name="manual",
            plan_text="",
            station_text=self.bench.station_text,
            channels=self.channels(),
        )
        store.put_meta("sim", self.bench.sim)
        store.put_meta("speed", self.bench.speed)
        store.put_meta("outcome", "manual")
        if self._idle is not None:
            self._idle.next_seq = 0  # the store's frames count from 0, as every run's do
        self._manual_store = store
        self.emit(self.clock.now(), "run", f"manual session recorded in {run_dir}", {})

    async def _close_manual_store(self) -> None:
        store, self._manual_store = self._manual_store, None
        if store is not None:
            await store.flush()
            await asyncio.to_thread(store.close)


def _finish(
    prepared: Prepared,
    phase: Phase,
    unsafe: str | None,
    before: Callable[[RunStore], None] | None,
) -> Finished:
    """`before` reads the run's store, then `finish_run` closes it (blocking: in a thread)."""
    if before is not None and prepared.store is not None:
        before(prepared.store)
    return finish_run(prepared, phase, unsafe)
