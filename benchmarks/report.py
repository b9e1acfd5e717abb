"""Time to regenerate every result file of an overnight run from its `run.sqlite`.

    .venv/bin/python -m benchmarks.report [--speed 2000] [--rounds 5] [--run-dir DIR]

Runs `test_plans/overnight.yaml` once on the simulated bench under time-warp (`hpbench run
--sim`), or takes an existing run directory, then times `export_run` on it several times (all
five files and SHA256SUMS, each written atomically). Prints the median against the target
(<= 5 s, issue 4), the stages of one export, and a baseline measured in the same go: reading
every frame back with `RunStore.frames()`, the floor any regeneration from the store pays.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.export import export_run
from bench.export.csvfiles import points_csv, samples_csv
from bench.export.datasheet import datasheet_csv
from bench.export.report_html import report_html
from bench.export.result import build_result, dumps, schema_problems
from bench.export.rundata import load_run
from bench.store import RunStore

TARGET_S = 5.0
PLAN = Path(__file__).resolve().parents[1] / "test_plans" / "overnight.yaml"


def make_run(results: Path, speed: float) -> Path:
    cmd = [
        sys.executable,
        "-c",
        "import sys; from bench.cli import main; sys.exit(main())",
        "run",
        str(PLAN),
        "--sim",
        "--speed",
        f"{speed:g}",
        "--results",
        str(results),
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"hpbench run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    print(f"overnight plan on the simulated bench at x{speed:g}: {took:.1f} s wall -> {run_dir}")
    return run_dir


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=2000.0, help="time-warp of the sim run")
    parser.add_argument("--rounds", type=int, default=5, help="exports to time")
    parser.add_argument("--run-dir", type=Path, help="use this run instead of making one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hpbench-report-") as tmp:
        run_dir = args.run_dir or make_run(Path(tmp), args.speed)
        with RunStore.open(run_dir) as store:
            frames, points = store.last_seq() + 1, len(store.points())
            _, read_s = timed(lambda: sum(1 for _ in store.frames()))
            first, last = next(store.frames(0, 0)).t, next(store.frames(frames - 1)).t
        hours = (last - first) / 3600.0
        print(f"run: {frames} frames, {points} points, {hours:.1f} h of bench time")

        times = [timed(export_run, run_dir)[1] for _ in range(args.rounds)]
        median = statistics.median(times)

        data, load_s = timed(load_run, run_dir)
        doc, build_s = timed(build_result, data)
        stages = {
            "read run.sqlite": load_s,
            "result document": build_s,
            "schema check": timed(schema_problems, doc)[1],
            "result.json": timed(dumps, doc)[1],
            "points.csv": timed(points_csv, doc)[1],
            "samples.csv": timed(samples_csv, data, doc)[1],
            "datasheet.csv": timed(datasheet_csv, doc)[1],
            "report.html": timed(report_html, data, doc)[1],
        }

    print(
        f"export_run, {args.rounds} rounds: median {median:.3f} s, "
        f"min {min(times):.3f} s, max {max(times):.3f} s   target <= {TARGET_S:g} s "
        f"({'met' if median <= TARGET_S else 'MISSED'})"
    )
    print(
        f"  = {median / frames * 1e6:.0f} us per frame; per 10 000 frames "
        f"{median / frames * 1e4:.2f} s"
    )
    print(
        f"baseline, reading every frame with RunStore.frames(): {read_s:.3f} s "
        f"-> export / baseline = {median / read_s:.1f}x"
    )
    print("one export by stage:")
    for name, seconds in stages.items():
        print(f"  {name:<18} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
