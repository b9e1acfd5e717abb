"""Real-time acquisition of the simulated bench at 10 Hz: how late each tick starts (jitter)
and how many periods are missed, over 60 s.

    .venv/bin/python -m benchmarks.acquisition [--seconds 60] [--period 0.1]

The simulated bench runs in its own process (`hpbench sim`), as real instruments are separate
devices; the engine's acquisition runs here with a sink that does what the engine's does
(store append, bus publish). Jitter is the start of each poll against its grid time.
Target (run-engine issue): p99 <= 5 ms, no period missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.run.acquisition import Acquisition
from bench.run.bus import Bus
from bench.run.frame import Frame
from bench.station import build_instruments, load_station, sim_station_path
from bench.store import RunStore
from benchmarks.simproc import start_sim
from instruments.clock import RealClock


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(endpoints: dict[str, str], folder: Path, seconds: float, period: float) -> None:
    clock = RealClock()
    instruments = build_instruments(load_station(sim_station_path()), endpoints)
    for inst in instruments.values():
        await inst.connect()
    lateness: list[float] = []
    bus: Bus[Frame] = Bus()
    bus.subscribe("display", maxsize=4)
    store: RunStore | None = None

    def sink(frame: Frame) -> None:
        lateness.append(time.time() - frame.t)
        assert store is not None
        store.append(frame)
        bus.publish(frame)

    acq = Acquisition(instruments, clock, period, sink)
    store = RunStore.create(
        folder / "run.sqlite",
        run_id="bench",
        plan_name="acquisition",
        plan_text="",
        station_text="",
        channels=acq.channels(),
    )
    # jitter: when the poll of each tick began, against the tick's grid time
    starts: list[float] = []
    original = acq.acquire_once

    async def timed_acquire(t: float) -> Frame:
        starts.append(clock.now() - t)
        return await original(t)

    acq.acquire_once = timed_acquire  # type: ignore[method-assign]
    task = acq.start()
    await asyncio.sleep(seconds)
    await acq.stop()
    del task
    await store.flush()
    stale = sum(
        1 for f in store.frames() for r in f.readings.values() if r.quality.value == "stale"
    )
    store.close()
    for inst in instruments.values():
        await inst.close()
    ms = [s * 1e3 for s in starts]
    print(
        f"ticks {len(ms)} in {seconds:g} s at {1 / period:g} Hz; missed periods {acq.missed_ticks}"
    )
    print(
        f"start jitter   p50 {statistics.median(ms):.3f} ms  p99 {quantile(ms, 0.99):.3f} ms  "
        f"max {max(ms):.3f} ms   (target p99 <= 5 ms, none missed)"
    )
    done = [x * 1e3 for x in lateness]
    print(
        f"frame complete p50 {statistics.median(done):.3f} ms  p99 {quantile(done, 0.99):.3f} ms "
        f"after its tick; stale readings {stale}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--period", type=float, default=0.1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        proc, endpoints_file = start_sim(Path(folder))
        endpoints = json.loads(endpoints_file.read_text())
        try:
            asyncio.run(measure(endpoints, Path(folder), args.seconds, args.period))
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
