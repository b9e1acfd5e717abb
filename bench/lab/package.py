"""A sealed run directory, verified, as the lab database takes it.

Verification is `hpbench verify`'s: every result file against SHA256SUMS and result.json
against its schema (bench/export). The package hash is the SHA-256 of SHA256SUMS itself: it
pins every sealed file at once. Frames are read from run.sqlite raw (the stored blobs, not
`Frame` objects): the sync is bound by how fast rows reach the COPY.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Queue
from typing import Any, Generic, TypeVar

import numpy as np

from bench.export.commands import RESULT_FILES
from bench.export.result import RESULT_NAME, schema_problems
from bench.export.sums import SUMS_NAME, check_sums
from bench.store import STORE_NAME

FrameRow = tuple[int, float, bytes, bytes, str | None]  # run.sqlite frames: seq, t, value...
Buffer = bytes | memoryview  # a piece of COPY data


class PackageRefused(Exception):
    """The run directory is not a whole, sealed, unaltered package; str() says what."""


@dataclass(frozen=True)
class Package:
    run_dir: Path
    sha256: str  # of SHA256SUMS
    result: dict[str, Any]
    run_id: str
    channels: list[tuple[str, str]]  # (id, unit) in frame order
    result_text: str  # result.json as verified, for the database to parse itself

    @property
    def store_path(self) -> Path:
        return self.run_dir / STORE_NAME

    def frame_batches(self, size: int) -> Iterator[list[FrameRow]]:
        """The stored frames in seq order, `size` rows at a time (read-only, chunked)."""
        conn = sqlite3.connect(f"{self.store_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            last = -1
            while True:
                rows = conn.execute(
                    "SELECT seq, t, value, quality, detail FROM frames WHERE seq > ?"
                    " ORDER BY seq LIMIT ?",
                    (last, size),
                ).fetchall()
                if not rows:
                    return
                yield rows
                last = rows[-1][0]
        finally:
            conn.close()

    def copy_blocks(self, run: int, size: int) -> Ahead[list[Buffer]]:
        """The frames as binary COPY data for run row `run`, `size` rows a block, read and
        packed in a thread ahead of the caller from the moment it is entered: sqlite3 and
        numpy release the GIL for their C work, so reading overlaps the caller's round trips
        and its sending to the server."""
        frames = BinaryFrames(run, len(self.channels))
        return Ahead(frames.rows(rows) for rows in self.frame_batches(size))

    def meta(self, key: str) -> Any:
        """A run.sqlite meta value (JSON-decoded), None when absent."""
        conn = sqlite3.connect(f"{self.store_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        finally:
            conn.close()
        return json.loads(row[0]) if row else None

    def events(self) -> list[tuple[Any, ...]]:
        """The events (id, t, seq, kind, message, data) in order."""
        conn = sqlite3.connect(f"{self.store_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute(
                "SELECT id, t, seq, kind, message, data FROM events ORDER BY id"
            ).fetchall()
        finally:
            conn.close()


def open_package(run_dir: Path) -> Package:
    """Verify a run directory and open it; PackageRefused names the first problems."""
    run_dir = Path(run_dir)
    if not (run_dir / STORE_NAME).is_file():
        raise PackageRefused(f"{run_dir}: no {STORE_NAME}: not a run directory")
    problems = [str(p) for p in check_sums(run_dir, RESULT_FILES)]
    if problems:
        raise PackageRefused(f"{run_dir}: package does not verify: " + "; ".join(problems[:3]))
    try:
        result_text = (run_dir / RESULT_NAME).read_text(encoding="utf-8")
        result = json.loads(result_text)
    except (OSError, ValueError) as exc:
        raise PackageRefused(f"{run_dir / RESULT_NAME}: cannot read: {exc}") from None
    bad = schema_problems(result)
    if bad:
        raise PackageRefused(f"{run_dir / RESULT_NAME}: schema: " + "; ".join(bad[:3]))
    conn = sqlite3.connect(f"{(run_dir / STORE_NAME).resolve().as_uri()}?mode=ro", uri=True)
    try:
        (run_id,) = conn.execute("SELECT value FROM meta WHERE key = 'run_id'").fetchone()
        channels = conn.execute("SELECT id, unit FROM channels ORDER BY idx").fetchall()
        (frames,) = conn.execute("SELECT count(*) FROM frames").fetchone()
    except (sqlite3.Error, TypeError) as exc:
        raise PackageRefused(f"{run_dir / STORE_NAME}: cannot read: {exc}") from None
    finally:
        conn.close()
    run_id = json.loads(run_id)
    if run_id != result["run"]["id"] or frames != result["run"]["frames"]:
        raise PackageRefused(
            f"{run_dir}: {STORE_NAME} (run {run_id}, {frames} frames) does not match "
            f"{RESULT_NAME} (run {result['run']['id']}, {result['run']['frames']} frames)"
        )
    sha = hashlib.sha256((run_dir / SUMS_NAME).read_bytes()).hexdigest()
    return Package(run_dir, sha, result, run_id, [(c, u) for c, u in channels], result_text)


PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp zero
FLOAT8_OID, INT2_OID = 701, 21
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # binary COPY signature
COPY_TRAILER = struct.pack(">h", -1)


class BinaryFrames:
    """Rows for `COPY frames (run, seq, t, value, quality, detail) FROM STDIN (FORMAT binary)`.

    Binary, not text: formatting 40 floats as text costs more CPU than the server spends
    storing them. A batch is packed as whole columns, not row by row: one numpy record per
    row whose fields are the binary COPY row (big-endian: field count; run int8, seq int4,
    t timestamptz in µs since 2000, value float8[] and quality int2[] as 1-D arrays with a
    length before each element, no NULLs: NaN stays NaN; detail jsonb). The stored value
    blobs of a batch are joined and byte-swapped in one go; no Python object per value.
    """

    def __init__(self, run: int, channels: int) -> None:
        n = self._n = channels
        array = [("len", ">i4"), ("ndim", ">i4"), ("flags", ">i4"), ("oid", ">i4")]
        array += [("size", ">i4"), ("lbound", ">i4")]
        self._record = np.dtype(
            [
                ("fields", ">i2"),
                *(("run_len", ">i4"), ("run", ">i8"), ("seq_len", ">i4"), ("seq", ">i4")),
                *(("t_len", ">i4"), ("t", ">i8")),
                ("value_head", array),
                ("value", [("len", ">i4"), ("v", ">f8")], (n,)),
                ("quality_head", array),
                ("quality", [("len", ">i4"), ("q", ">i2")], (n,)),
                ("detail_len", ">i4"),
            ]
        )
        template = np.zeros(1, self._record)
        template["fields"], template["detail_len"] = 6, -1  # detail NULL unless given
        template["run_len"], template["run"], template["seq_len"], template["t_len"] = 8, run, 4, 8
        template["value_head"] = (20 + 12 * n, 1, 0, FLOAT8_OID, n, 1)
        template["value"]["len"] = 8
        template["quality_head"] = (20 + 6 * n, 1, 0, INT2_OID, n, 1)
        template["quality"]["len"] = 2
        self._template = template

    def rows(self, rows: list[FrameRow]) -> list[Buffer]:
        """The COPY data of `rows`, in pieces to write in order: views into one array (no
        copy of a block: each would page-fault megabytes of fresh memory) and the details."""
        seq, t, value, quality, detail = zip(*rows, strict=True)
        out = np.repeat(self._template, len(rows))
        out["seq"] = seq
        out["t"] = np.rint(np.array(t) * 1e6).astype(np.int64) - PG_EPOCH_US
        out["value"]["v"] = np.frombuffer(b"".join(value), "<f8").reshape(len(rows), self._n)
        out["quality"]["q"] = np.frombuffer(b"".join(quality), np.uint8).reshape(len(rows), self._n)
        view, size = memoryview(out).cast("B"), self._record.itemsize
        parts: list[Buffer] = []
        lengths, start = out["detail_len"], 0
        for i, text in enumerate(detail):
            if text is None:
                continue
            # readings that were not OK: rare; jsonb binary is version 1, then the text
            data = b"\x01" + text.encode()
            lengths[i] = len(data)
            parts += [view[start * size : (i + 1) * size], data]
            start = i + 1
        parts.append(view[start * size :])
        return parts


T = TypeVar("T")
_DONE = object()


class Ahead(Generic[T]):
    """`items`, produced by a thread up to `depth` ahead from `with` on; the thread's exception
    is raised to the consumer. Leaving the `with` early stops the thread at its next item."""

    def __init__(self, items: Generator[T, None, None], depth: int = 2) -> None:
        self._items = items
        self._queue: Queue[tuple[Any, BaseException | None]] = Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="lab-read", daemon=True)

    def __enter__(self) -> Ahead[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a put() so the thread sees the stop
            while not self._queue.empty():
                self._queue.get_nowait()
            self._thread.join(0.05)

    def __iter__(self) -> Iterator[T]:
        while True:
            item, exc = self._queue.get()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield item

    def _produce(self) -> None:
        try:
            for item in self._items:
                if self._stop.is_set():
                    return
                self._queue.put((item, None))
            self._queue.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            self._queue.put((_DONE, exc))
        finally:
            self._items.close()  # in this thread: sqlite3 objects belong to the thread
