"""The body of `hpbench run`: messages and exit codes around the runner."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.connect import ConnectFailed
from bench.plan import PlanError
from bench.run.frame import channel_id
from bench.run.planning import PlanNotRunnable
from bench.run.progress import results_table, show_progress
from bench.run.runner import (
    EXIT_BAD_INPUT,
    Prepared,
    RunRefused,
    bench_instruments,
    clock_for,
    create_store,
    exit_code,
    make_engine,
    prepare_new,
    prepare_resume,
    run_engine,
)
from bench.station import StationError
from bench.store import StoreError

Runner = Callable[[Callable[[asyncio.Event], Any]], int]


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
    try:
        return _run_on_bench(prepared, warnings, console, run)
    except ConnectFailed as exc:
        for line in str(exc).splitlines():
            print(f"hpbench run: cannot reach {line}", file=sys.stderr)
        print(prepared.run_dir)
        return EXIT_BAD_INPUT


def _run_on_bench(prepared: Prepared, warnings: list[str], console: Console, run: Runner) -> int:
    clock = clock_for(prepared)
    with bench_instruments(prepared, clock) as instruments:
        if prepared.store is None:
            channels = {
                channel_id(role, name): unit
                for role, inst in instruments.items()
                for name, unit in inst.channels().items()
            }
            create_store(prepared, channels, warnings)
        engine = make_engine(prepared, instruments, clock)
        what = "resuming" if prepared.resumed else "run"
        console.print(f"{what} {prepared.plan.spec.name} -> {prepared.run_dir}", markup=False)

        async def go(stop: asyncio.Event) -> Any:
            shower = asyncio.create_task(show_progress(engine, console))
            try:
                return await run_engine(engine, prepared, stop)
            finally:
                shower.cancel()
                await asyncio.gather(shower, return_exceptions=True)

        phase = run(go)
    store = prepared.store
    assert store is not None
    rows = store.points()
    store.close()
    points = [{"id": r.point_id, **(r.record or {}), "status": r.status} for r in rows]
    console.print(results_table(points))
    console.print(f"outcome: {phase}", markup=False)
    print(prepared.run_dir, flush=True)
    return exit_code(phase, [p["status"] for p in points])
