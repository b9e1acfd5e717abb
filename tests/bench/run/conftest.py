"""Whole runs on the simulated bench, in-process, under time-warp."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.run.engine import Engine
from bench.run.runner import (
    Prepared,
    bench_channels,
    clock_for,
    create_store,
    make_engine,
    prepare_new,
    run_engine,
)
from bench.run.sequencer import Phase
from bench.station import build_instruments
from instruments.sim.bench import SimBenchThread

DEMO_HEAD = """
name: {name}
profile: en14511-3
standard: en14511
operator: tests
unit: {{make: NIBE, model: S2125-12, serial: T-1, refrigerant: R290}}
defaults:
  water: {{delta_t_k: 5}}
  timing:
    equilibrium_min: {eq}
    collection_min: {coll}
    stabilise_timeout_min: {timeout}
    sample_s: 5
points:
"""


def plan_text(
    points: str, *, name: str = "t", eq: float = 5, coll: float = 10, timeout: float = 30
):
    return DEMO_HEAD.format(name=name, eq=eq, coll=coll, timeout=timeout) + points


@dataclass
class Finished:
    prepared: Prepared
    engine: Engine
    phase: Phase
    sim: SimBenchThread
    truth: dict[str, tuple[float, float]]  # point id -> model (capacity W, power W) at its end


async def run_on_sim(
    tmp_path: Path,
    text: str,
    *,
    speed: float = 500.0,
    during: Callable[[Engine, SimBenchThread], Awaitable[None]] | None = None,
    before: Callable[[SimBenchThread], Any] | None = None,
    station: Path | None = None,
    seed: int = 0,
    limit_s: float = 120.0,
) -> Finished:
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    prepared, warnings = prepare_new(plan, station, sim=True, speed=speed, results=tmp_path)
    clock = clock_for(prepared)
    sim = SimBenchThread(clock, seed=seed)
    endpoints = sim.start()
    try:
        if before is not None:
            before(sim)
        instruments = build_instruments(prepared.station, endpoints.as_dict())
        create_store(prepared, bench_channels(prepared.station, instruments), warnings)
        engine = make_engine(prepared, instruments, clock)
        truth: dict[str, tuple[float, float]] = {}
        emit = engine.sequencer.emit

        def at_point_end(t: float, kind: str, message: str, data: dict[str, Any]) -> None:
            # the model as the point ends: its record comes later, computed in a worker thread
            if kind == "point":
                hp = sim.model.heat_pump
                truth[data["point"]] = (hp.capacity_w, hp.power_w)
            emit(t, kind, message, data)

        engine.sequencer.emit = at_point_end
        stop = asyncio.Event()
        helper = asyncio.create_task(during(engine, sim)) if during else None
        try:
            phase = await asyncio.wait_for(run_engine(engine, prepared, stop), limit_s)
        finally:
            if helper is not None:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
        return Finished(prepared, engine, phase, sim, truth)
    finally:
        sim.stop()


async def wait_for(predicate: Callable[[], bool], limit_s: float = 60.0) -> None:
    """Poll until `predicate()` holds: tests wait on states, never on fixed sleeps."""
    async with asyncio.timeout(limit_s):
        while not predicate():  # noqa: ASYNC110 - the engine's state has no event to wait on
            await asyncio.sleep(0.01)


@pytest.fixture
def sim_run(tmp_path):
    async def go(text: str, **kw) -> Finished:
        return await run_on_sim(tmp_path, text, **kw)

    return go
