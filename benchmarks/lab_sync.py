"""Frames per second into the lab database, against a raw COPY of the same rows.

    .venv/bin/python -m benchmarks.lab_sync [--run RUNDIR] [--rounds 3]

Without --run, the overnight plan is run first on the simulated bench
(`hpbench run test_plans/overnight.yaml --sim --speed 1000`, a minute or two). A throwaway
PostgreSQL cluster (tests/pgcluster.py, fsync on) gets a fresh database per round.

(1) `sync_package` as built: verify the package, dimensions, run row, points, events, and every
    frame read from run.sqlite, formatted and COPYed in batches, one transaction; the wall
    time of the whole sync is the overnight figure, frames / that time the rate.
(2) Baseline: a raw COPY of the same rows (read and formatted beforehand, in memory) into the
    same frames table, one transaction.

Target: (1) >= 0.7 x (2). The two alternate in order from round to round; medians are given,
with the process CPU time per frame (on a busy machine the wall ratio moves, CPU much less).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench.lab.package import Package, copy_text, open_package
from bench.lab.schema import migrate
from bench.lab.sync import BATCH_FRAMES, COPY_FRAMES, ensure_partitions, sync_package
from tests.pgcluster import PgCluster

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.7


def overnight_run(folder: Path) -> Path:
    results = folder / "results"
    results.mkdir()
    started = time.perf_counter()
    subprocess.run(
        [
            *(sys.executable, "-m", "bench.cli", "run", REPO / "test_plans" / "overnight.yaml"),
            *("--sim", "--speed", "1000", "--results", results),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=REPO,
    )
    print(f"overnight run made in {time.perf_counter() - started:.0f} s")
    (run_dir,) = results.iterdir()
    return run_dir


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and process CPU seconds of `action()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path, help="a sealed run directory (default: make one)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hpbench-bench-") as tmp:
        run_dir = args.run or overnight_run(Path(tmp))
        package = open_package(run_dir)
        frames = package.result["run"]["frames"]
        width = len(package.channels)
        print(f"run {package.run_id}: {frames} frames x {width} channels")
        cluster = PgCluster(fsync=True).start()
        try:
            syncs, raws = [], []
            for n in range(args.rounds):
                url = cluster.create_database(f"bench{n}")
                with psycopg.connect(url, autocommit=True) as conn:
                    migrate(conn)
                    steps = [
                        lambda: syncs.append(timed(lambda: sync_package(conn, package))),
                        lambda: raws.append(_raw_copy(conn, package)),
                    ]
                    for step in steps if n % 2 == 0 else steps[::-1]:
                        step()
            wall_sync = statistics.median(w for w, _ in syncs)
            wall_raw = statistics.median(w for w, _ in raws)
            for name, runs in (("(1) lab sync  ", syncs), ("(2) raw COPY  ", raws)):
                wall = statistics.median(w for w, _ in runs)
                cpu = statistics.median(c for _, c in runs)
                print(
                    f"{name}{frames / wall:10,.0f} frames/s  ({cpu / frames * 1e6:6.1f} us CPU"
                    f"/frame, wall {wall:.2f} s)"
                )
            ratio = wall_raw / wall_sync
            verdict = "OK" if ratio >= TARGET else "BELOW TARGET"
            print(f"ratio (1)/(2): {ratio:.2f} (target >= {TARGET}): {verdict}")
            print(f"overnight run synced (verify + whole transaction) in {wall_sync:.2f} s")
        finally:
            cluster.destroy()
    return 0


def _raw_copy(conn: psycopg.Connection, package: Package) -> tuple[float, float]:
    """The baseline: the rows read and formatted beforehand; only the COPY is timed."""
    with conn.transaction():
        station = conn.execute(
            "INSERT INTO stations (name) VALUES ('raw-' || gen_random_uuid()) RETURNING id"
        ).fetchone()
        unit = conn.execute(
            "INSERT INTO units (make, model, serial) VALUES ('raw', 'raw', gen_random_uuid())"
            " RETURNING id"
        ).fetchone()
        run = conn.execute(
            "INSERT INTO runs (run_id, directory, station_id, unit_id, plan_name, frames,"
            " package_sha256, result) VALUES ('raw-' || gen_random_uuid(), '', %s, %s, 'raw',"
            " 0, '', '{}') RETURNING id",
            (station[0], unit[0]),  # type: ignore[index]
        ).fetchone()
    ensure_partitions(
        conn, package.result["run"]["first_frame"], package.result["run"]["last_frame"]
    )
    width = len(package.channels)
    data = [copy_text(run[0], rows, width) for rows in package.frame_batches(BATCH_FRAMES)]  # type: ignore[index]

    def copy_all() -> None:
        with conn.transaction(), conn.cursor().copy(COPY_FRAMES) as copy:
            for chunk in data:
                copy.write(chunk)

    return timed(copy_all)


if __name__ == "__main__":
    raise SystemExit(main())
