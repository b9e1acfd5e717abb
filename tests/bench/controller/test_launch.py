"""`BenchController.launch` / `run_ended`: how `hpbench run` drives the controller."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.controller import BenchController, prepared_bench
from bench.run.runner import STOPPED, create_store, prepare_new
from bench.store import RunStore
from tests.bench.run.conftest import plan_text

POINTS = """
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
"""


async def test_the_stop_event_ends_the_run_resumable_and_the_bench_is_not_watched_again(
    tmp_path: Path,
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_text(POINTS, name="launch"))
    prepared, warnings = prepare_new(plan, None, sim=True, speed=100.0, results=tmp_path)
    read: list[int] = []
    with prepared_bench(prepared, None) as bench:
        controller = BenchController(bench, tmp_path, watch_after_run=False)
        await controller.connect()
        create_store(prepared, controller.channels(), warnings)
        stop = asyncio.Event()
        frames = controller.frames.subscribe("test", maxsize=1)
        engine = await controller.launch(
            prepared, stop, before_finish=lambda store: read.append(store.last_seq())
        )
        async with asyncio.timeout(60):
            while (await frames.get()).seq < 3:  # the run's own frames: it is under way
                pass
        stop.set()
        finished = await asyncio.wait_for(controller.run_ended(), 60)
        assert not controller.connected  # closed after the run, not watched again
        await controller.close()
    assert engine is controller.engine
    assert finished.resumable and finished.exit_code == 3
    assert read and read[0] >= 3  # the store, read before finish_run closed it
    store = RunStore.open(prepared.run_dir)
    try:
        assert store.meta()["outcome"] == "interrupted"
        assert any(STOPPED in e.message for e in store.events({"run"}))
        assert not store.events({"operator"})  # a signal, not the TUI's quit
    finally:
        store.close()
