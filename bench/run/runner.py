"""`hpbench run`: load and check everything, make the run directory and store, run the engine.

Also `--resume RUNDIR`: the plan and station are taken from the run's own store (as run, not
as they are on disk now), finished points are kept, the interrupted point starts again, and
frame numbers continue after the last acknowledged one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import functools
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.interlocks import declared_line
from bench.plan import Plan, estimate, load_plan, parse_plan
from bench.run.acquisition import channels_of
from bench.run.bus import Bus
from bench.run.campaign import inject, schedule
from bench.run.engine import Engine, Event
from bench.run.frame import Frame
from bench.run.identity import check_unit_identity
from bench.run.measure import make_measure
from bench.run.planning import judgement, point_specs, unmeasured
from bench.run.points import WATER_FLOW
from bench.run.sequencer import Phase
from bench.station import (
    Station,
    StationError,
    build_instruments,
    parse_station,
    sim_station_path,
)
from bench.store import RunStore
from bench.telemetry.config import redact_station_text
from instruments.base import Instrument
from instruments.clock import Clock, ScaledClock, make_clock

if TYPE_CHECKING:
    from instruments.sim.bench import SimBenchThread

EXIT_OK, EXIT_POINTS_FAILED, EXIT_BAD_INPUT, EXIT_ABORTED = 0, 1, 2, 3
EXIT_UNSAFE = 4  # the bench's safe state could not be confirmed: see decision 0110
FINISHED_STATUSES = {"valid", "invalid", "failed", "skipped"}
STOPPED = "stopped by a signal"  # the run event of an interrupted run (the TUI lists it)


class RunRefused(Exception):
    """The run cannot start: bad input or an unusable bench. str() is the whole message."""


@dataclass
class Prepared:
    """Everything checked before any instrument is touched."""

    plan: Plan
    station: Station
    station_text: str
    run_dir: Path
    store: RunStore | None  # opened by resume; created once the drivers name their channels
    sim: bool
    speed: float
    resumed: bool
    done_ids: set[str]
    flows_seen: dict[str, float]
    first_seq: int


def read_station(path: Path | None, *, sim: bool) -> tuple[Station, str]:
    """The station file (None: the simulated bench's own) and its text. Raises StationError."""
    path = path or sim_station_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StationError(f"{path}: cannot read station file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise StationError(f"{path}: not a text file (UTF-8 expected)") from None
    station = parse_station(text, str(path))
    if station.uses_sim and not sim:
        raise StationError(f"{path}: addresses sim:... are the simulated bench: use --sim")
    return station, text


def check_calibration(station: Station, today: dt.date) -> list[str]:
    """Overdue calibrations: warnings, or a refusal when the station says to block."""
    overdue = [
        f"{role}: calibration was due {entry.calibration_due}"
        for role, entry in station.instruments.items()
        if entry.calibration_overdue(today)
    ]
    if overdue and station.station.calibration_policy == "block":
        raise RunRefused(
            "calibration overdue (the station blocks such runs):\n" + "\n".join(overdue)
        )
    return overdue


def check_results_dir(results: Path, min_free_mb: float) -> None:
    """Refuse, before anything starts, a results directory a run could not be written to."""
    if not results.exists():
        raise RunRefused(f"{results}: results directory does not exist")
    if not results.is_dir():
        raise RunRefused(f"{results}: results directory is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=results, prefix=".hpbench-probe-") as probe:
            probe.write(b"x")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        what = {
            errno.EROFS: "is on a read-only file system",
            errno.EACCES: "is not writable",
            errno.EPERM: "is not writable",
            errno.ENOSPC: "is on a full disk",
            errno.EDQUOT: "is over its disk quota",
        }.get(exc.errno or 0, f"cannot be written: {exc.strerror or exc}")
        raise RunRefused(f"{results}: results directory {what}") from None
    free_mb = shutil.disk_usage(results).free / 1e6
    if free_mb < min_free_mb:
        raise RunRefused(
            f"{results}: only {free_mb:.1f} MB free on the results disk; the station asks for "
            f"at least {min_free_mb:g} MB (station.min_free_mb)"
        )


def run_dir_name(plan_name: str, now: dt.datetime, run_id: str) -> str:
    return f"{now:%Y-%m-%d}_{plan_name}_{run_id}"


def prepare_new(
    plan_path: Path, station_path: Path | None, *, sim: bool, speed: float, results: Path
) -> tuple[Prepared, list[str]]:
    plan = load_plan(plan_path)
    station, station_text = read_station(station_path, sim=sim)
    point_specs(plan, station)  # refuse an unrunnable plan before anything is created
    warnings = check_calibration(station, dt.date.today())
    check_results_dir(results, station.station.min_free_mb)
    run_dir = results / run_dir_name(plan.spec.name, dt.datetime.now(dt.UTC), secrets.token_hex(3))
    prepared = Prepared(plan, station, station_text, run_dir, None, sim, speed, False, set(), {}, 0)
    return prepared, warnings


def create_store(prepared: Prepared, channels: dict[str, str], warnings: list[str]) -> RunStore:
    plan = prepared.plan
    store = RunStore.create(
        prepared.run_dir / "run.sqlite",
        run_id=prepared.run_dir.name.rsplit("_", 1)[-1],
        plan_name=plan.spec.name,
        plan_text=plan.text,
        station_text=redact_station_text(prepared.station_text),
        channels=channels,
    )
    store.put_meta("plan_path", str(plan.path))
    store.put_meta("profile", {"name": plan.profile.name, "version": plan.profile.version})
    store.put_meta("sim", prepared.sim)
    store.put_meta("speed", prepared.speed)
    store.put_meta("calibration_warnings", warnings)
    prepared.store = store
    return store


def prepare_resume(run_dir: Path) -> tuple[Prepared, list[str]]:
    store = RunStore.open(run_dir)
    meta = store.meta()
    if meta.get("outcome") in ("done", "aborted", "failed"):
        store.close()
        raise RunRefused(
            f"{run_dir}: this run already ended ({meta['outcome']}); nothing to resume"
        )
    plan = parse_plan(meta["plan_text"], meta.get("plan_path", "<plan>"))
    station = parse_station(meta["station_text"], f"{run_dir}/run.sqlite: station")
    done_ids: set[str] = set()
    flows: dict[str, float] = {}
    for row in store.points():
        if row.status in FINISHED_STATUSES:
            done_ids.add(row.point_id)
            flow = (row.record or {}).get("results", {}).get("means", {}).get(WATER_FLOW)
            if flow is not None:
                flows[row.point_id] = flow
    warnings = check_calibration(station, dt.date.today())
    last = store.last_seq()
    if last >= 0:
        last_t = next(store.frames(last, last)).t
        store.event(
            last_t,
            "gap",
            f"run interrupted after frame {last}: no frames from then until the resume; "
            "the interrupted point starts again",
            {"last_seq": last, "last_t": last_t},
            seq=last,
        )
    prepared = Prepared(
        plan,
        station,
        meta["station_text"],
        Path(run_dir),
        store,
        bool(meta.get("sim")),
        float(meta.get("speed", 1.0)),
        True,
        done_ids,
        flows,
        store.last_seq() + 1,
    )
    return prepared, warnings


@contextlib.contextmanager
def station_instruments(
    station: Station,
    clock: Clock,
    *,
    sim: bool,
    on_sim: Callable[[SimBenchThread], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """The station's drivers; with `sim`, on a simulated bench started on its own thread
    (handed to `on_sim`, for fault injection)."""
    if not sim:
        yield build_instruments(station)
        return
    from instruments.sim.bench import SimBenchThread

    simulator = SimBenchThread(clock)
    with simulator as endpoints:
        if on_sim is not None:
            on_sim(simulator)
        yield build_instruments(station, endpoints.as_dict())


@contextlib.contextmanager
def bench_instruments(
    prepared: Prepared,
    clock: Clock,
    on_sim: Callable[[SimBenchThread], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """The run's station's drivers (see `station_instruments`)."""
    with station_instruments(prepared.station, clock, sim=prepared.sim, on_sim=on_sim) as found:
        yield found


def start_campaign(prepared: Prepared, sim: SimBenchThread, seed: int, now: float) -> None:
    """Schedule every simulator fault over the plan's estimated span, and record it."""
    assert prepared.store is not None
    span_s = estimate(prepared.plan.points).total_min * 60.0
    planned = schedule(seed, span_s)
    inject(sim.faults, planned)
    prepared.store.put_meta("fault_campaign", {"seed": seed, "faults": len(planned)})
    for fault in planned:
        data = {"role": fault.role, "kind": str(fault.kind), "after_s": fault.after_s}
        data |= {"duration_s": fault.duration_s, "start": now + fault.after_s}
        prepared.store.event(now, "campaign", f"scheduled {fault.describe()}", data)


def check_interlock_channels(station: Station, channels: dict[str, str]) -> None:
    """Every interlock watches a channel this bench really has (the drivers name them)."""
    for index, lock in enumerate(station.interlocks):
        if lock.channel is not None and lock.channel not in channels:
            known = ", ".join(c for c in channels if c.startswith(lock.channel.split(".")[0]))
            where = "station"
            if station._source is not None:  # file:line of the interlock's channel
                path, text = station._source
                where = f"{path}:{declared_line(text, index, 'channel')}: station"
            raise RunRefused(
                f"{where} interlocks[{index}] {lock.name!r}: no channel {lock.channel!r}; "
                f"the bench has {known or 'no channel of that instrument'}"
            )


def check_live_channels(prepared: Prepared, channels: dict[str, str]) -> None:
    """Once the bench answered, before any run directory or engine: the interlocks' channels
    exist and every quantity the plan needs is among the connected drivers' channels with its
    unit (RunRefused names the station's file:line). `hpbench run` and the TUI both call it."""
    check_interlock_channels(prepared.station, channels)
    if unmet := unmeasured(prepared.plan, prepared.station, channels):
        raise RunRefused("\n".join(unmet))  # a driver without a channel it declared


def bench_channels(station: Station, instruments: Mapping[str, Instrument]) -> dict[str, str]:
    """Every channel a run's frames carry (id -> unit): the instruments' own, then the contract
    channels the station's layout derives (bench/station_layout.py)."""
    return channels_of(instruments, station.layout.derived().values())


def make_engine(
    prepared: Prepared,
    instruments: dict[str, Any],
    clock: Clock,
    *,
    frames: Bus[Frame] | None = None,
    events: Bus[Event] | None = None,
) -> Engine:
    """The run's engine; `frames` / `events`: buses that outlive it (the TUI's controller)."""
    plan, station = prepared.plan, prepared.station
    assert prepared.store is not None
    specs = point_specs(plan, station)
    return Engine(
        instruments=instruments,
        clock=clock,
        points=specs,
        judgement=judgement(plan.profile, station, warped_sim=prepared.sim and prepared.speed > 1),
        measure=make_measure(plan.points[0].barometric_pa),
        store=prepared.store,
        water=station.point_settings(),
        period_s=min(p.sample_s for p in specs),
        done_ids=prepared.done_ids,
        flows_seen=prepared.flows_seen,
        first_seq=prepared.first_seq,
        interlocks=station.all_interlocks(),
        safe=station.safe_state,
        final=station.final_state,
        permissives=station.permissives,
        plausible=station.plausibility,
        interlock_frames=station.station.interlock_frames,
        identity=functools.partial(check_unit_identity, plan.spec.unit.serial, station),
        frames=frames,
        events=events,
        layout=station.layout,
    )


def exit_code(phase: Phase, statuses: list[str], *, unsafe: str | None = None) -> int:
    """0 completed, 1 completed with failed / invalid / skipped points, 3 aborted, failed or
    stopped by a signal (resumable), 4 the bench's safe state was not confirmed (whatever
    else happened: someone must go and look at the unit)."""
    if unsafe:
        return EXIT_UNSAFE
    if phase != Phase.DONE:
        return EXIT_ABORTED
    if any(s != "valid" for s in statuses):
        return EXIT_POINTS_FAILED
    return EXIT_OK


def outcome_name(phase: Phase, unsafe: str | None = None) -> str:
    if unsafe:
        return "unsafe"
    return {Phase.DONE: "done", Phase.ABORTED: "aborted", Phase.FAILED: "failed"}.get(
        phase, "interrupted"
    )


async def run_engine(engine: Engine, prepared: Prepared, stop: asyncio.Event) -> Phase:
    """Run to the end, or until `stop` (a signal): then the bench is left in the safe state
    and the run can be resumed."""
    task = asyncio.create_task(engine.run(resumed=prepared.resumed), name="engine")
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        engine.emit(engine.clock.now(), "run", f"{STOPPED}: safe state, resumable", {})
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    stopper.cancel()
    phase = engine.sequencer.phase if task.done() and not task.cancelled() else Phase.PAUSED
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
    assert prepared.store is not None
    prepared.store.put_meta("outcome", outcome_name(phase, engine.unsafe))
    if engine.unsafe:
        prepared.store.put_meta("unsafe", engine.unsafe)
    await prepared.store.flush()
    return phase


def bench_clock(speed: float) -> Clock:
    """Bench time: time-warped on the simulated bench, the wall clock otherwise."""
    return ScaledClock(speed) if speed != 1.0 else make_clock(1.0)


def clock_for(prepared: Prepared) -> Clock:
    return bench_clock(prepared.speed)
