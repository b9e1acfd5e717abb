"""Frames per second into the lab database, against a raw COPY of the same rows.

    .venv/bin/python -m benchmarks.lab_sync [--run RUNDIR] [--rounds 3]

Without --run, the overnight plan is run first on the simulated bench
(`hpbench run test_plans/overnight.yaml --sim --speed 1000`, a few minutes). A throwaway
PostgreSQL cluster (tests/pgcluster.py, fsync on) gets a fresh database per round, with the
month's frame partition made first (as after the month's first sync; its time is printed).

(1) `sync_package` as built, from its lookup to its commit: shared rows, run row, points,
    events, and every frame read from run.sqlite, packed and COPYed in blocks, one
    transaction; frames / its wall time is the rate. Verifying the package first (as every
    sync does) is timed apart: verify + (1) is the printed time to sync an overnight run.
(2) Baseline: a raw COPY of the same rows (read and packed beforehand, in memory) into the
    same frames table, one transaction, on the same connection.

Target: (1) >= 0.7 x (2). The two alternate in order from round to round; medians are given,
with the CPU time per frame of our process and of the server backend, and the ratio of the
CPU both spend (on a busy machine the wall ratio follows it; it varies less).
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

from bench.lab.package import COPY_HEADER, COPY_TRAILER, BinaryFrames, Package, open_package
from bench.lab.schema import migrate
from bench.lab.sync import BATCH_FRAMES, COPY_FRAMES, partition_statements, sync_package
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


def server_cpu(pid: int) -> float:
    """CPU seconds of one PostgreSQL backend process so far (/proc, same machine), to the
    nanosecond (schedstat; /proc/PID/stat counts 10 ms ticks, a tenth of a raw COPY)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def timed(action: Callable[[], object], backend: int) -> tuple[float, float, float]:
    """Wall, our process's CPU and the server backend's CPU seconds of `action()`."""
    wall, cpu, server = time.perf_counter(), time.process_time(), server_cpu(backend)
    action()
    return (
        time.perf_counter() - wall,
        time.process_time() - cpu,
        server_cpu(backend) - server,
    )


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
            syncs, raws, verifies, partitions = [], [], [], []
            for n in range(args.rounds):
                url = cluster.create_database(f"bench{n}")
                with psycopg.connect(url, autocommit=True) as conn:
                    migrate(conn)
                    partitions.append(_make_partitions(conn, package))
                    backend = conn.info.backend_pid

                    def sync(c: psycopg.Connection = conn, b: int = backend) -> None:
                        started = time.perf_counter()
                        verified = open_package(run_dir)
                        verifies.append(time.perf_counter() - started)
                        syncs.append(timed(lambda: sync_package(c, verified), b))

                    def raw(c: psycopg.Connection = conn, b: int = backend) -> None:
                        raws.append(_raw_copy(c, package, b))

                    for step in (sync, raw) if n % 2 == 0 else (raw, sync):
                        step()
            for name, runs in (("(1) lab sync  ", syncs), ("(2) raw COPY  ", raws)):
                wall = statistics.median(w for w, _, _ in runs)
                cpu = statistics.median(c for _, c, _ in runs) / frames * 1e6
                server = statistics.median(s for _, _, s in runs) / frames * 1e6
                print(
                    f"{name}{frames / wall:10,.0f} frames/s  (CPU/frame: ours {cpu:5.1f} us,"
                    f" server {server:5.1f} us; wall {wall:.2f} s)"
                )
            wall_sync = statistics.median(w for w, _, _ in syncs)
            ratio = statistics.median(w for w, _, _ in raws) / wall_sync
            verdict = "OK" if ratio >= TARGET else "BELOW TARGET"
            rounds = sorted(r[0] / s[0] for s, r in zip(syncs, raws, strict=True))
            cpu = statistics.median(c + s for _, c, s in raws) / statistics.median(
                c + s for _, c, s in syncs
            )
            print(
                f"ratio (1)/(2) of the medians: {ratio:.2f} (target >= {TARGET}): {verdict};"
                f" round by round {rounds[0]:.2f}-{rounds[-1]:.2f},"
                f" median {statistics.median(rounds):.2f}; of the CPU both spend: {cpu:.2f}"
            )
            verify = statistics.median(verifies)
            print(
                f"overnight run synced in {verify + wall_sync:.2f} s: verify the package"
                f" {verify:.2f} s + the sync (1) {wall_sync:.2f} s; the first sync of a month"
                f" also makes its frame partition: + {statistics.median(partitions):.3f} s"
            )
        finally:
            cluster.destroy()
    return 0


def _make_partitions(conn: psycopg.Connection, package: Package) -> float:
    """The month's frame partition, as the month's first sync makes it; its wall time."""
    started = time.perf_counter()
    run = package.result["run"]
    with conn.transaction():
        for statement in partition_statements(run["first_frame"], run["last_frame"]):
            conn.execute(statement)
    return time.perf_counter() - started


def _raw_copy(
    conn: psycopg.Connection, package: Package, backend: int
) -> tuple[float, float, float]:
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
    frames = BinaryFrames(run[0], len(package.channels))  # type: ignore[index]
    data = [
        COPY_HEADER,
        *(part for r in package.frame_batches(BATCH_FRAMES) for part in frames.rows(r)),
        COPY_TRAILER,
    ]

    def copy_all() -> None:
        with conn.transaction(), conn.cursor().copy(COPY_FRAMES) as copy:
            for chunk in data:
                copy.write(chunk)

    return timed(copy_all, backend)


if __name__ == "__main__":
    raise SystemExit(main())
