"""The body of `hpbench run`: messages and exit codes around a `BenchController` that runs
the plan (docs/decisions/0200), as the TUI's does."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, TypeVar

from rich.console import Console

from bench.connect import ConnectFailed
from bench.controller import BenchController, prepared_bench
from bench.plan import PlanError
from bench.run.campaign import campaign_summary
from bench.run.finish import Finished
from bench.run.identity import IdentityRefused, check_unit_identity
from bench.run.planning import PlanNotRunnable
from bench.run.progress import results_table, show_progress
from bench.run.runner import (
    EXIT_BAD_INPUT,
    Prepared,
    RunRefused,
    check_live_channels,
    create_store,
    prepare_new,
    prepare_resume,
    start_campaign,
)
from bench.station import StationError
from bench.store import RunStore, StoreError
from bench.telemetry.commands import TelemetryUnavailable, telemetry_for_run
from bench.telemetry.config import TelemetryConfig
from instruments.base import Identity

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
        station = Path(args.station) if args.station and not args.resume else None
        return _run_on_bench(
            prepared, warnings, console, run, args.fault_campaign, telemetry, station
        )
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
    station_path: Path | None,
) -> int:
    """The run on a `BenchController` over the run's bench, as the TUI drives one; the
    simulator (for `--fault-campaign`) comes with the bench."""

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    summary: list[str] = []

    def summarise(store: RunStore) -> None:
        summary.append(campaign_summary(store))

    with prepared_bench(prepared, station_path) as bench:
        controller = BenchController(
            bench,
            prepared.run_dir.parent,
            telemetry=telemetry,
            telemetry_log=say,
            watch_after_run=False,
        )

        async def go(stop: asyncio.Event) -> Finished:
            try:
                _ready(controller, prepared, warnings, console, await controller.connect())
                if campaign is not None and bench.simulator is not None:
                    start_campaign(prepared, bench.simulator, campaign, bench.clock.now())
                what = "resuming" if prepared.resumed else "run"
                say(f"{what} {prepared.plan.spec.name} -> {prepared.run_dir}")
                await controller.start_telemetry()
                before = summarise if campaign is not None else None
                engine = await controller.launch(prepared, stop, before_finish=before)
                shower = asyncio.create_task(show_progress(engine, console))
                try:
                    return await controller.run_ended()
                finally:
                    shower.cancel()
                    await asyncio.gather(shower, return_exceptions=True)
            finally:
                await controller.close("the end of hpbench run")

        finished = run(go)
    for line in summary:
        say(line)
    console.print(results_table(finished.points))
    say(f"outcome: {finished.phase}")
    if finished.unsafe:
        print(f"hpbench run: UNSAFE: {finished.unsafe}; check the unit", file=sys.stderr)
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


def _ready(
    controller: BenchController,
    prepared: Prepared,
    warnings: list[str],
    console: Console,
    identities: dict[str, Identity],
) -> None:
    """The checks once the bench has answered, and the run's store: IdentityRefused and
    RunRefused before any run directory exists."""
    unit = check_unit_identity(prepared.plan.spec.unit.serial, prepared.station, identities)
    if unit:  # the engine records it as an event when it connects
        console.print(f"warning: {unit}", style="yellow", markup=False)
    channels = controller.channels()
    check_live_channels(prepared, channels)
    if prepared.store is None:
        create_store(prepared, channels, warnings)
