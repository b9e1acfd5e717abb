"""Reading a sealed run's frames for the COPY (bench/lab/package.py)."""

from __future__ import annotations

import gc
import sqlite3
import struct
from pathlib import Path

from bench.lab.package import BinaryFrames, Package
from bench.lab.sync import BATCH_FRAMES
from bench.store import STORE_NAME

CHANNELS = 42
FRAMES = 14_000  # an overnight run


def stored_run(folder: Path) -> Package:
    """A run store's frames table (the layout of run.sqlite) of FRAMES frames, as a package."""
    conn = sqlite3.connect(folder / STORE_NAME)
    with conn:
        conn.execute(
            "CREATE TABLE frames (seq INTEGER PRIMARY KEY, t REAL NOT NULL,"
            " value BLOB NOT NULL, quality BLOB NOT NULL, detail TEXT)"
        )
        conn.executemany(
            "INSERT INTO frames VALUES (?, ?, ?, ?, NULL)",
            (
                (seq, 1.8e9 + seq, struct.pack(f"<{CHANNELS}d", *[seq] * CHANNELS), bytes(CHANNELS))
                for seq in range(FRAMES)
            ),
        )
    conn.close()
    channels = [(f"c{i}", "K") for i in range(CHANNELS)]
    return Package(folder, "", {}, "run", channels, "{}")


def test_reading_a_run_in_blocks_starts_no_garbage_collection(tmp_path):
    """A block's row tuples are freed before the cyclic GC's first threshold (700 new objects)
    is reached: reading and packing a whole run starts no more than a few collections of the
    youngest generation, whatever its length, and promotes no row to an older one. Blocks of
    5000 rows started 35 here, two of which promoted; in a sync, a full collection over the
    heap now and then followed, 50-120 ms (docs/decisions/0270)."""
    package = stored_run(tmp_path)
    frames = BinaryFrames(1, CHANNELS)
    started: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.collect()  # the count of new objects starts at 0
    gc.callbacks.append(seen)
    try:
        packed = sum(len(rows) for rows in package.frame_batches(BATCH_FRAMES) if frames.rows(rows))
    finally:
        gc.callbacks.remove(seen)
    assert packed == FRAMES
    assert started.count(0) == len(started) <= 3, started  # 1000 rows a block: 16, one older
