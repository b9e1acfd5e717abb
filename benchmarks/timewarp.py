"""How fast a plan can be dry-run: `test_plans/overnight.yaml` on the simulated bench under
time-warp, as bench-seconds per wall-second, at a few clock speeds.

    .venv/bin/python -m benchmarks.timewarp [--speeds 500 1000 2000]

The baseline is real time (1 bench second per wall second). Overrun periods are acquisition
ticks the engine could not serve in time at that speed (skipped and counted, never queued).
Target (run-engine issue): >= 500x on a 2-core machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.store import RunStore


def dry_run(speed: float, results: Path) -> tuple[float, float, int, int]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cli",
            "run",
            "test_plans/overnight.yaml",
            "--sim",
            "--speed",
            str(speed),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"the dry run failed ({done.returncode}): {done.stderr[-2000:]}")
    store = RunStore.open(done.stdout.strip().splitlines()[-1])
    frames = list(store.frames())
    bench_s = frames[-1].t - frames[0].t
    overruns = sum(
        int(e.message.split("; ")[1].split()[0])
        for e in store.events({"acquisition"})
        if e.message.startswith("keeping up again")
    )
    valid = sum(r.status == "valid" for r in store.points())
    store.close()
    return bench_s, wall, overruns, valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", type=float, nargs="+", default=[500, 1000, 2000])
    args = parser.parse_args()
    print(
        f"{'speed':>7} {'bench h':>8} {'wall s':>7} {'bench s / wall s':>17} "
        f"{'overruns':>9} {'valid points':>12}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for speed in args.speeds:
            bench_s, wall, overruns, valid = dry_run(speed, Path(folder))
            print(
                f"{speed:7.0f} {bench_s / 3600:8.2f} {wall:7.1f} {bench_s / wall:17.0f} "
                f"{overruns:9d} {valid:12d}"
            )
    print("baseline: real time = 1 bench s / wall s; target >= 500")


if __name__ == "__main__":
    main()
