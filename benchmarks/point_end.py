"""The event loop's longest stall when a point ends: its record computed on the loop (the old
path) against ours (the window taken on the loop, the calculation in a worker thread).

    .venv/bin/python -m benchmarks.point_end [--rounds 7]

A ticker on the loop sleeps 1 ms at a time and keeps its worst lateness while one point's
record is made; that lateness is how long acquisition and the UI would have waited. Windows:
a steady point's 60 min at 5 s (720 frames) and a long transient one (4 h, 2880 frames, with
defrosts), 40 channels a frame as on the simulated bench, the sim station's settings. Both
paths run interleaved in one process; the median of each path's rounds is printed, and the
ratio old / ours. In CPython the thread still shares the GIL: the loop gets it back within
the interpreter's switch interval (5 ms), which is what bounds our stall.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.run.frame import Frame
from bench.run.points import HP_DEFROST
from bench.run.results import (
    PointSettings,
    point_results,
    point_window,
    sampled,
    window_results,
)
from bench.run.sequencer import PointOutcome
from bench.station import load_station, sim_station_path
from instruments.base import Reading

TICK_S = 0.001
NOMINAL = {  # typical values of the calculation's inputs (flow, temperatures, power, ranges)
    "volume_flow": 1.6,
    "inlet_temp": 30.0,
    "outlet_temp": 35.0,
    "P": 2500.0,
    "Urange": 300.0,
    "Irange": 20.0,
}


def window(settings: PointSettings, n: int, *, transient: bool) -> PointOutcome:
    rng = random.Random(n)
    channels = [*sampled(settings), *(f"filler.c{i}" for i in range(40 - len(sampled(settings))))]
    frames = []
    for i in range(n):
        readings = {}
        for c in channels:
            base = NOMINAL.get(c.rsplit(".", 1)[-1], 20.0)
            readings[c] = Reading.ok(base * (1 + 0.001 * rng.gauss(0, 1)), "")
        # transient: a 10-minute defrost every 60 minutes
        readings[HP_DEFROST] = Reading.ok(float(transient and i % 720 >= 600), "")
        frames.append(Frame(i, 1000.0 + 5 * i, readings))
    return PointOutcome(
        spec=None,  # type: ignore[arg-type]
        status="valid",
        reason="",
        started=0,
        ended=1,
        transient=transient,
        frames=frames,
    )


async def longest_stall(work: Callable[[], Awaitable[Any]]) -> float:
    """The loop's worst lateness (s) while `work` runs, as a 1 ms ticker sees it."""
    worst = 0.0
    stop = False

    async def ticker() -> None:
        nonlocal worst
        while not stop:
            t0 = time.perf_counter()
            await asyncio.sleep(TICK_S)
            worst = max(worst, time.perf_counter() - t0 - TICK_S)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)  # the ticker is running
    await work()
    stop = True
    await task
    return worst


async def stalls_ms(outcome: PointOutcome, settings: PointSettings, rounds: int) -> list[float]:
    """The median longest stall (ms) of the old path and of ours, interleaved round by round."""

    async def old() -> None:
        point_results(outcome, settings)

    async def ours() -> None:
        await asyncio.to_thread(window_results, point_window(outcome), settings)

    paths = (old, ours)
    stalls: list[list[float]] = [[] for _ in paths]
    for _ in range(rounds):
        for path, seen in zip(paths, stalls, strict=True):
            seen.append(await longest_stall(path))
    return [statistics.median(seen) * 1e3 for seen in stalls]


async def measure(rounds: int) -> None:
    settings = load_station(sim_station_path()).point_settings()
    for n, transient in ((720, False), (2880, True)):
        outcome = window(settings, n, transient=transient)
        # the same numbers both ways (one calculation)
        assert window_results(point_window(outcome), settings) == point_results(outcome, settings)
        old_ms, ours_ms = await stalls_ms(outcome, settings, rounds)
        kind = "transient" if transient else "steady"
        print(
            f"{n:5d} frames ({kind:9s}): longest loop stall old {old_ms:6.2f} ms, "
            f"ours {ours_ms:5.2f} ms, ratio old/ours {old_ms / ours_ms:5.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, switch interval {sys.getswitchinterval() * 1e3:g} ms")
    asyncio.run(measure(args.rounds))


if __name__ == "__main__":
    main()
