"""The body of `hpbench run`: messages and exit codes around the runner."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, TypeVar

from rich.console import Console

from bench.connect import ConnectFailed, bench_answers
from bench.liblog import library_logs_to_file
from bench.plan import PlanError
from bench.run.campaign import campaign_summary
from bench.run.finish import finish_run
from bench.run.identity import IdentityRefused, check_unit_identity
from bench.run.planning import PlanNotRunnable, unmeasured
from bench.run.progress import results_table, show_progress
from bench.run.runner import (
    EXIT_BAD_INPUT,
    Prepared,
    RunRefused,
    bench_channels,
    bench_instruments,
    check_interlock_channels,
    clock_for,
    create_store,
    make_engine,
    prepare_new,
    prepare_resume,
    run_engine,
    start_campaign,
)
from bench.run.sequencer import Phase
from bench.station import StationError
from bench.store import StoreError
from bench.telemetry.commands import TelemetryUnavailable, run_with_telemetry, telemetry_for_run
from bench.telemetry.config import TelemetryConfig
from bench.telemetry.payloads import RunInfo
from instruments.sim.bench import SimBenchThread

T = TypeVar("T")


class Runner(Protocol):
    """Runs ``main(stop)`` on its own event loop and returns what it returns; ``stop`` is set
    by SIGINT/SIGTERM (bench/cli.py `_run`)."""

    def __call__(self, main: Callable[[asyncio.Event], Awaitable[T]], /) -> T: ...


def run_command(args: argparse.Namespace, run: Runner) -> int:
    console = Console(stderr=False)
    try:
        if args.resume:
            prepared, warnings = prepare_resume(Path(args.resume))
        else:
            prepared, warnings = prepare_new(
                Path(args.plan),
                Path(args.station) if args.station else None,
                sim=args.sim,
                speed=args.speed,
                results=Path(args.results),
            )
    except (PlanError, StationError, RunRefused, PlanNotRunnable, StoreError) as exc:
        print(f"hpbench run: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for warning in warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)
    where = f"{args.resume}/run.sqlite: station" if args.resume else str(args.station or "")
    try:
        telemetry = telemetry_for_run(args.mqtt, prepared.station_text, where or "station")
    except TelemetryUnavailable as exc:
        print(f"hpbench run: {exc}", file=sys.stderr)
        if prepared.store is not None:
            prepared.store.close()
        return EXIT_BAD_INPUT
    try:
        return _run_on_bench(prepared, warnings, console, run, args.fault_campaign, telemetry)
    except (RunRefused, IdentityRefused) as exc:
        print(f"hpbench run: {exc}", file=sys.stderr)
        if prepared.store is not None:
            prepared.store.close()
        return EXIT_BAD_INPUT
    except ConnectFailed as exc:
        for line in str(exc).splitlines():
            print(f"hpbench run: cannot reach {line}", file=sys.stderr)
        if prepared.run_dir.exists():  # a resumed run's directory; a new run has none yet
            print(prepared.run_dir)
        return EXIT_BAD_INPUT


def _run_on_bench(
    prepared: Prepared,
    warnings: list[str],
    console: Console,
    run: Runner,
    campaign: int | None,
    telemetry: TelemetryConfig | None,
) -> int:
    clock = clock_for(prepared)
    sims: list[SimBenchThread] = []
    with bench_instruments(prepared, clock, sims.append) as instruments:
        # ConnectFailed, IdentityRefused before any run directory
        identities = run(lambda stop: bench_answers(instruments))
        unit = check_unit_identity(prepared.plan.spec.unit.serial, prepared.station, identities)
        if unit:  # the engine records it as an event when it connects
            console.print(f"warning: {unit}", style="yellow", markup=False)
        library_logs_to_file(prepared.run_dir / "hpbench.log")
        channels = bench_channels(prepared.station, instruments)
        check_interlock_channels(prepared.station, channels)
        if unmet := unmeasured(prepared.plan, prepared.station, channels):
            raise RunRefused("\n".join(unmet))  # a driver without a channel it declared
        if prepared.store is None:
            create_store(prepared, channels, warnings)
        engine = make_engine(prepared, instruments, clock)
        if campaign is not None and sims:
            start_campaign(prepared, sims[0], campaign, clock.now())
        what = "resuming" if prepared.resumed else "run"
        console.print(f"{what} {prepared.plan.spec.name} -> {prepared.run_dir}", markup=False)

        async def go(stop: asyncio.Event) -> Phase:
            shower = asyncio.create_task(show_progress(engine, console))
            try:
                return await run_with_telemetry(
                    telemetry,
                    engine,
                    run_engine(engine, prepared, stop),
                    RunInfo.from_prepared(prepared),
                    log=lambda line: console.print(line, markup=False, highlight=False),
                )
            finally:
                shower.cancel()
                await asyncio.gather(shower, return_exceptions=True)

        phase = run(go)
    store = prepared.store
    assert store is not None
    if campaign is not None:
        console.print(campaign_summary(store), markup=False)
    finished = finish_run(prepared, phase, unsafe=engine.unsafe)
    console.print(results_table(finished.points))
    console.print(f"outcome: {phase}", markup=False)
    if engine.unsafe:
        print(f"hpbench run: UNSAFE: {engine.unsafe}; check the unit", file=sys.stderr)
    if finished.export_error is not None:
        print(
            f"hpbench run: result files not written: {finished.export_error}; "
            f"run `hpbench report {prepared.run_dir}`",
            file=sys.stderr,
        )
    else:
        print(f"result files: {', '.join(p.name for p in finished.written)}", flush=True)
    print(prepared.run_dir, flush=True)
    return finished.exit_code
