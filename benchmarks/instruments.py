"""Round trips of each driver against the simulated bench on loopback, and one full-bench read
done concurrently against the same read done sequentially (the baseline), in one process.

    .venv/bin/python -m benchmarks.instruments [--reads 300]

Target (foundation issue): the concurrent full-bench read takes <= 1.3 x the slowest single
instrument's round trip.

Two passes. "loopback": the simulator answers as fast as the CPU allows, so every round trip is
Python work in this process and in the simulator's, and on two cores four reads cannot overlap
much: the concurrent read costs about the CPU sum. "rs232": the chamber's tty gets the line time
of a 9600-baud link (10 bits a byte), as on the lab's chamber; the wait is then I/O, which is
what concurrency overlaps - and what a real bench's round trips are made of.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.station import build_instruments, load_station, sim_station_path
from benchmarks.simproc import start_sim
from instruments.base import Instrument


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(coro_factory, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await coro_factory()
        out.append(time.perf_counter() - t0)
    return out


async def measure(instruments: dict[str, Instrument], reads: int) -> None:
    for inst in instruments.values():
        await inst.connect()
    try:
        for inst in instruments.values():  # warm-up: first reads open caches and sockets
            await inst.read()
        print(f"{'instrument':18} {'median ms':>10} {'p99 ms':>8}   address")
        medians = {}
        for role, inst in instruments.items():
            samples = await timed(inst.read, reads)
            medians[role] = statistics.median(samples)
            print(
                f"{role:18} {medians[role] * 1e3:10.3f} {quantile(samples, 0.99) * 1e3:8.3f}"
                f"   {inst.address}"
            )

        async def sequential() -> None:
            for inst in instruments.values():
                await inst.read()

        async def concurrent() -> None:
            await asyncio.gather(*(inst.read() for inst in instruments.values()))

        rounds = max(20, reads // 3)
        seq = await timed(sequential, rounds)
        con = await timed(concurrent, rounds)
        slowest_role = max(medians, key=medians.__getitem__)
        seq_med, con_med = statistics.median(seq), statistics.median(con)
        print()
        print(f"full bench, sequential (baseline): median {seq_med * 1e3:.3f} ms")
        print(
            f"full bench, concurrent:            median {con_med * 1e3:.3f} ms, "
            f"p99 {quantile(con, 0.99) * 1e3:.3f} ms"
        )
        print(f"ratio concurrent / sequential:        {con_med / seq_med:.2f}")
        print(
            f"ratio concurrent / slowest single ({slowest_role}): "
            f"{con_med / medians[slowest_role]:.2f}   (target <= 1.3)"
        )
    finally:
        await asyncio.gather(*(i.close() for i in instruments.values()), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    station = load_station(sim_station_path())
    passes = {"loopback": ([], args.reads), "rs232": (["--chamber-baud", "9600"], args.reads // 5)}
    for name, (extra, reads) in passes.items():
        print(f"\n== {name} ==")
        with tempfile.TemporaryDirectory() as folder:
            proc, endpoints_file = start_sim(Path(folder), extra)
            endpoints = json.loads(endpoints_file.read_text())
            try:
                asyncio.run(measure(build_instruments(station, endpoints), reads))
            finally:
                proc.terminate()
                proc.wait(timeout=10)


if __name__ == "__main__":
    main()
