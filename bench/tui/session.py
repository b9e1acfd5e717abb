"""The engine's lifecycle for the TUI: one bench, watched and steered for as long as the app runs.

`hpbench run` lives for one plan; the TUI lives longer. Before a plan starts (and after it ends)
the bench is *idle*: every instrument is polled so the operator sees live values, and manual set
points can be sent for commissioning. Starting a plan hands the instruments to an `Engine` built
exactly as `hpbench run` builds it (`bench.run.runner`); when the run ends they come back to the
idle acquisition. Either way, frames and events reach the app on two buses that outlive the runs,
so the screens subscribe once (docs/decisions/0007-tui-session.md).

Every manual action is an event. Outside a run, the first manual set point opens a store of its
own under `results/` (`<date>_manual_<id>/run.sqlite`): the frames and events of that
commissioning session are kept and can be replayed like any run.

With telemetry (`--mqtt` or the station's `[telemetry]`), one publisher lives as long as the
session: idle frames and events are published too, and each run's start, points and end.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bench.connect import close_all, connect_all, reason
from bench.interlocks import Interlocks
from bench.liblog import library_logs_kept_in
from bench.run.acquisition import Acquisition
from bench.run.actuation import actuate, put_bench_in
from bench.run.bus import Bus
from bench.run.commands import Command, SafeState, SetHeatPump
from bench.run.engine import Engine, Event, Status
from bench.run.finish import Finished, finish_run
from bench.run.frame import Frame, channel_id
from bench.run.points import AIR_RH, AIR_T, WATER_FLOW, WATER_IN, WATER_OUT
from bench.run.runner import (
    Prepared,
    RunRefused,
    check_interlock_channels,
    create_store,
    make_engine,
    prepare_new,
    prepare_resume,
    run_dir_name,
    run_engine,
)
from bench.run.sequencer import FINAL, Phase, PointOutcome
from bench.station import (
    BenchLimits,
    Station,
    StationError,
    build_instruments,
    parse_station,
    sim_station_path,
)
from bench.store import RunStore, StoreError
from bench.telemetry.payloads import RunInfo
from instruments.base import Instrument
from instruments.clock import Clock, ScaledClock, make_clock

if TYPE_CHECKING:
    from bench.telemetry.config import TelemetryConfig
    from bench.telemetry.publisher import Publisher

CHAMBER_TEMPERATURE_C = (-40.0, 60.0)  # the ESPEC driver does not report its chamber's range
CHAMBER_HUMIDITY_PCT = (0.0, 100.0)  # what the chamber driver accepts
# a manual set point's key -> the station's [limits] field that narrows it
STATION_LIMIT = {
    "air_temperature": "air_temperature_c",
    "air_humidity": "air_humidity_pct",
    "water_inlet": "water_inlet_c",
    "water_flow": "water_flow_m3h",
    "hp_flow_temperature": "hp_flow_temperature_c",
    "hp_demand": "hp_demand_pct",
}
MAX_IDLE_FRAMES_PER_WALL_S = 10.0


@dataclass(frozen=True)
class Limit:
    low: float
    high: float
    unit: str

    def __contains__(self, value: object) -> bool:
        return isinstance(value, float | int) and self.low <= value <= self.high


@dataclass
class Bench:
    """The station and its drivers (not yet connected), and the bench clock."""

    station: Station
    station_text: str
    station_path: Path | None  # None: the simulated bench's shipped station file
    instruments: dict[str, Instrument]
    clock: Clock
    sim: bool
    speed: float
    simulator: Any = None  # the SimBenchThread with `sim` (tests inject faults through it)


@contextlib.contextmanager
def open_bench(station_path: Path | None, *, sim: bool, speed: float) -> Iterator[Bench]:
    """The station's drivers; with `sim`, on a simulated bench started on its own thread.

    Raises StationError for a bad or unreadable station file."""
    path = station_path or sim_station_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StationError(f"{path}: cannot read station file: {exc.strerror or exc}") from None
    station = parse_station(text, str(path))
    if station.uses_sim and not sim:
        raise StationError(f"{path}: addresses sim:... are the simulated bench: use --sim")
    clock = ScaledClock(speed) if speed != 1.0 else make_clock(1.0)
    if not sim:
        yield Bench(station, text, station_path, build_instruments(station), clock, sim, speed)
        return
    from instruments.sim.bench import SimBenchThread

    simulator = SimBenchThread(clock)
    with simulator as endpoints:
        instruments = build_instruments(station, endpoints.as_dict())
        yield Bench(station, text, station_path, instruments, clock, sim, speed, simulator)


def setpoint_limits(
    instruments: dict[str, Instrument], station: BenchLimits | None = None
) -> dict[str, Limit]:
    """What a manual set point may be: each driver's own declared range, narrowed by the
    station's `[limits]`. Raises StationError when a station range is outside the driver's."""
    limits = _driver_limits(instruments)
    for key, field_name in STATION_LIMIT.items():
        declared = getattr(station, field_name, None) if station is not None else None
        if declared is None or key not in limits:
            continue
        own = limits[key]
        low, high = max(own.low, declared[0]), min(own.high, declared[1])
        if low >= high:
            raise StationError(
                f"limits.{field_name}: [{declared[0]:g}, {declared[1]:g}] is outside what the "
                f"driver accepts, {own.low:g}…{own.high:g} {own.unit}"
            )
        limits[key] = Limit(low, high, own.unit)
    return limits


def _driver_limits(instruments: dict[str, Instrument]) -> dict[str, Limit]:
    limits: dict[str, Limit] = {}
    if "climate_chamber" in instruments:
        limits["air_temperature"] = Limit(*CHAMBER_TEMPERATURE_C, "°C")
        limits["air_humidity"] = Limit(*CHAMBER_HUMIDITY_PCT, "%RH")
    wanted = {  # the map's command -> the set point's key
        "hydraulic_module": {"inlet_temperature": "water_inlet", "flow": "water_flow"},
        "heat_pump": {"flow_temperature": "hp_flow_temperature", "demand": "hp_demand"},
    }
    for role, commands in wanted.items():
        regmap = getattr(instruments.get(role), "regmap", None)
        for command, key in commands.items():
            cmd = regmap.commands.get(command) if regmap is not None else None
            register = regmap.get(cmd.channel) if cmd is not None else None
            if register is not None and register.min is not None and register.max is not None:
                limits[key] = Limit(register.min, register.max, register.unit)
    return limits


class SetpointPair(NamedTuple):
    key: str  # as in `setpoint_limits`
    label: str
    setpoint: str  # channel holding what the device is set to
    measured: str | None  # channel measuring it (the bench's own sensors where it has them)


def command_channel(instruments: dict[str, Instrument], role: str, command: str) -> str | None:
    """The channel a Modbus driver's map writes for one of its commands."""
    regmap = getattr(instruments.get(role), "regmap", None)
    cmd = regmap.commands.get(command) if regmap is not None else None
    return channel_id(role, cmd.channel) if cmd is not None else None


def setpoint_pairs(instruments: dict[str, Instrument]) -> list[SetpointPair]:
    """What an operator sets by hand, each beside what measures it. The heat pump's flow
    temperature is measured by the bench's own outlet sensor."""
    pairs = []
    if "climate_chamber" in instruments:
        pairs += [
            SetpointPair("air_temperature", "air", "climate_chamber.temperature_sp", AIR_T),
            SetpointPair("air_humidity", "humidity", "climate_chamber.humidity_sp", AIR_RH),
        ]
    wanted = [
        ("water_inlet", "water inlet", "hydraulic_module", "inlet_temperature", WATER_IN),
        ("water_flow", "water flow", "hydraulic_module", "flow", WATER_FLOW),
        ("hp_flow_temperature", "HP flow temp", "heat_pump", "flow_temperature", WATER_OUT),
        ("hp_demand", "HP demand", "heat_pump", "demand", None),
    ]
    for key, label, role, command, measured in wanted:
        channel = command_channel(instruments, role, command)
        if channel is not None:
            pairs.append(SetpointPair(key, label, channel, measured))
    return pairs


async def actuate_on(bench: Bench, command: Command, on_error: Callable[[str, str], None]) -> None:
    """Carry out one command on the bench as the engine does."""
    station = bench.station
    await actuate(
        bench.instruments,
        command,
        safe=station.safe_state,
        final=station.final_state,
        on_error=on_error,
    )


class CommandFailed(Exception):
    """A manual command the instruments did not carry out (str() says why)."""


def _fail(done: asyncio.Future[None], why: str) -> None:
    if not done.done():
        done.set_exception(CommandFailed(why))
        done.exception()  # seen: an alarm has told the operator, whether or not anyone awaits


@dataclass
class Request:
    """A command waiting for the idle session, and who waits for its acknowledgement."""

    command: Command
    source: str  # operator | interlock
    done: asyncio.Future[None]

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

    @classmethod
    def from_record(cls, point_id: str, status: str, record: dict[str, Any]) -> PointResult:
        results = record.get("results") or {}
        return cls(
            point_id,
            status,
            record.get("reason") or "",
            results.get("capacity_w"),
            results.get("power_w"),
            results.get("cop"),
            bool(record.get("transient")),
        )


@dataclass
class Session:
    """The bench as the app sees it. Everything here runs on the app's event loop."""

    bench: Bench
    results: Path
    idle_period_s: float | None = None  # bench seconds; default: at most 10 frames a wall second
    frames: Bus[Frame] = field(default_factory=Bus)
    events: Bus[Event] = field(default_factory=Bus)
    telemetry: TelemetryConfig | None = None

    def __post_init__(self) -> None:
        self.engine: Engine | None = None
        self.prepared: Prepared | None = None
        self.points: list[PointResult] = []  # finished points of the current (or last) run
        self.connected = False
        self.limits = setpoint_limits(self.bench.instruments, self.bench.station.limits)
        self._idle: Acquisition | None = None
        self._idle_commander: asyncio.Task[None] | None = None
        self._idle_commands: asyncio.Queue[Request] = asyncio.Queue()
        self._awaiting: dict[str, list[asyncio.Future[None]]] = {}  # run: repr -> acks
        self._ack_follower: asyncio.Task[None] | None = None
        self.finished: Finished | None = None  # how the last run of this session ended
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
        if self.telemetry is not None:
            from bench.telemetry.publisher import Publisher

            self.publisher = Publisher(self.telemetry, log=self._telemetry_line)
            self.publisher.attach(self)

    # -- what the app reads ----------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.bench.clock

    @property
    def running(self) -> bool:
        """A plan is running (the engine owns the bench)."""
        return self._run_task is not None and not self._run_task.done()

    @property
    def run_dir(self) -> Path | None:
        return self.prepared.run_dir if self.prepared else None

    def status(self) -> Status:
        if self.engine is not None:
            return self.engine.status()
        return Status(Phase.IDLE, -1, 0, "", 0.0, None, None, self._frames_idle)

    def channels(self) -> dict[str, str]:
        """Every channel of the bench (id -> unit), in display order."""
        return {
            channel_id(role, name): unit
            for role, inst in self.bench.instruments.items()
            for name, unit in inst.channels().items()
        }

    @property
    def period_s(self) -> float:
        if self.idle_period_s is not None:
            return self.idle_period_s
        return max(1.0, self.clock.speed / MAX_IDLE_FRAMES_PER_WALL_S)

    # -- lifecycle -------------------------------------------------------------------------
    async def start_telemetry(self) -> None:
        """Start publishing (returns at once: connecting to the broker happens beside)."""
        if self.publisher is not None and self.publisher.connected is None:
            await self.publisher.start()

    def _telemetry_line(self, line: str) -> None:
        self.emit(self.clock.now(), "telemetry", line, {})

    async def connect(self) -> None:
        """Connect every instrument and start watching them. Raises ConnectFailed."""
        identities = await connect_all(self.bench.instruments)
        self.connected = True
        for role, ident in identities.items():
            self.emit(self.clock.now(), "instrument", f"{role}: {ident}", {"role": role})
        self._start_idle()

    def _start_idle(self) -> None:
        self._interlocks = Interlocks(self.bench.station.all_interlocks())
        self._safety_trip = ""
        self._idle = Acquisition(
            self.bench.instruments,
            self.clock,
            self.period_s,
            self._on_idle_frame,
            on_event=lambda t, kind, msg: self.emit(t, kind, msg, {}),
        )
        self._idle.start()
        self._idle_commander = asyncio.create_task(self._run_idle_commands(), name="tui-manual")

    async def _stop_idle(self) -> None:
        if self._idle is not None:
            await self._idle.stop()
            self._idle = None
        if self._idle_commander is not None:
            self._idle_commander.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_commander
            self._idle_commander = None

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
        if self.connected and self._commanded:
            safe = self.bench.station.safe_state
            await put_bench_in(self.bench.instruments, safe, self._safe_state_failed)
            self.emit(self.clock.now(), "command", f"safe state ({why})", {})
        await close_all(self.bench.instruments)
        self.connected = False
        await self._close_manual_store()

    # -- operator actions ------------------------------------------------------------------
    def pause(self) -> bool:
        return self._operator(lambda e: e.pause())

    def resume(self) -> bool:
        return self._operator(lambda e: e.resume())

    def skip(self, point_id: str | None = None) -> bool:
        """Skip the current point - only if it is still `point_id` (the one the operator was
        asked about): False when that point finished meanwhile, and nothing is skipped."""
        if point_id is not None and self.status().point_id != point_id:
            return False
        return self._operator(lambda e: e.skip())

    def abort(self, run_dir: Path | None = None) -> bool:
        """Abort the run - only if it is still the one in `run_dir`."""
        if run_dir is not None and self.run_dir != run_dir:
            return False
        return self._operator(lambda e: e.abort())

    def _operator(self, action: Callable[[Engine], None]) -> bool:
        if not self.running or self.engine is None:
            return False
        action(self.engine)
        return True

    def command(self, command: Command) -> asyncio.Future[None]:
        """A manual set point (or the safe state): logged as an operator event, then carried
        out - by the engine during a run, by the session outside one. The future is done when
        the instruments acknowledged it, and fails (CommandFailed) when they did not.

        Outside a run the safe state jumps the queue: set points still waiting are dropped."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commanded = not isinstance(command, SafeState)
        if self.running and self.engine is not None:
            self._awaiting.setdefault(repr(command), []).append(done)
            self.engine.command(command)
            return done
        if self._idle_commander is None:
            _fail(done, f"{command!r} not sent: the bench is not connected")
            self.emit(self.clock.now(), "alarm", f"{command!r} not sent: bench not connected", {})
            return done
        if isinstance(command, SafeState):
            self._drop_queued(f"{command!r} asked for first")
        self._idle_commands.put_nowait(Request(command, "operator", done))
        return done

    def _drop_queued(self, why: str) -> None:
        while not self._idle_commands.empty():
            request = self._idle_commands.get_nowait()
            message = f"{request.command!r} not sent: {why}"
            self.emit(self.clock.now(), "command", message, {"dropped": True})
            request.fail(message)

    async def _run_idle_commands(self) -> None:
        """Carry out queued commands one by one; a failing command is an alarm and never ends
        this loop (the idle interlocks' safe state comes through here too)."""
        while True:
            request = await self._idle_commands.get()
            try:
                await self._carry_out_idle(request.command, request.source)
            except Exception as exc:
                message = f"{request.command!r} failed: {reason(exc)}"
                self.emit(self.clock.now(), "alarm", message, {"command": repr(request.command)})
                request.fail(message)
            else:
                self.emit(self.clock.now(), "command", repr(request.command), {})
                request.succeed()

    async def _carry_out_idle(self, command: Command, source: str) -> None:
        try:
            await self._ensure_manual_store()
        except (OSError, StoreError) as exc:  # the command still goes out: the bench first
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.emit(self.clock.now(), "alarm", f"manual session not recorded: {why}", {})
        if source == "operator":
            self.emit(self.clock.now(), "operator", f"manual {command!r}", {"action": "manual"})
        if isinstance(command, SetHeatPump) and command.running and self._safety_trip:
            why = f"heat pump kept off: interlock {self._safety_trip} tripped"
            self.emit(self.clock.now(), "safety", why, {})
            raise CommandFailed(why)
        failed: list[str] = []

        def step_failed(role: str, why: str) -> None:
            failed.append(f"{role}: {why}")
            self._safe_state_failed(role, why)

        await actuate_on(self.bench, command, step_failed)
        if failed:
            raise CommandFailed("; ".join(failed))

    async def _follow_acks(self) -> None:
        """During a run the engine carries out manual commands: its `command` and `alarm`
        events say whether the instruments acknowledged them."""
        sub = self.events.subscribe("session-acks", maxsize=1024)
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
                        if event.kind == "command":
                            done.set_result(None)
                        else:
                            _fail(done, event.message)
        finally:
            self.events.unsubscribe(sub)
            for futures in self._awaiting.values():
                for done in futures:
                    _fail(done, "the run ended before it was carried out")
            self._awaiting.clear()

    def _safe_state_failed(self, role: str, why: str) -> None:
        self.emit(self.clock.now(), "alarm", f"safe state: {role}: {why}", {})

    # -- plans -----------------------------------------------------------------------------
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

    def _check_can_run(self) -> None:
        if self.running:
            raise RuntimeError("a plan is already running")
        if not self.connected:
            raise RuntimeError("the bench is not connected")

    async def _launch(self, prepared: Prepared, warnings: list[str]) -> Path:
        bench = self.bench
        try:
            check_interlock_channels(prepared.station, self.channels())
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
        engine = make_engine(prepared, bench.instruments, bench.clock)
        engine.frames, engine.events = self.frames, self.events  # one pair of buses for the app
        engine.on_point = self._on_point
        self.engine, self.prepared, self.finished = engine, prepared, None
        self.points = self._recorded_points(prepared)
        self._ack_follower = asyncio.create_task(self._follow_acks(), name="tui-acks")
        self._stop_run = asyncio.Event()
        self._commanded = True
        self._run_store_open = True
        if self.publisher is not None:
            self.publisher.run_started(RunInfo.from_prepared(prepared), engine)
        self._run_task = asyncio.create_task(self._run(engine, prepared), name="tui-run")
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

    async def _run(self, engine: Engine, prepared: Prepared) -> None:
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
            self.finished = await asyncio.to_thread(finish_run, prepared, phase, engine.unsafe)
        files = (
            f"result files not written: {self.finished.export_error}"
            if self.finished.export_error
            else f"{len(self.finished.written)} result files written"
        )
        self.emit(self.clock.now(), "run", f"run {self.finished.outcome}: {files}", {})
        if engine.sequencer.phase in FINAL:
            self._commanded = False  # the engine left the bench in the safe state
        if not self._closed:
            await self._reconnect()

    async def _reconnect(self) -> None:
        try:
            await self.connect()
        except Exception as exc:
            self.emit(self.clock.now(), "alarm", f"cannot watch the bench: {exc}", {})

    # -- events and the manual store -------------------------------------------------------
    def emit(self, t: float, kind: str, message: str, data: dict[str, Any]) -> None:
        """An event for the log: in the run's store during a run, in the manual store when
        there is one; always on the app's bus."""
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
                self._drop_queued(f"interlock {lock.name} tripped")
                safe = SafeState(f"interlock {lock.name}")
                done = asyncio.get_running_loop().create_future()
                self._idle_commands.put_nowait(Request(safe, "interlock", done))

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
