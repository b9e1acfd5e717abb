"""The run store: every frame, event, snapshot and point of a run, in one SQLite file, as it goes.

The writing methods (`append`, `event`, `snapshot`, `put_point`, `put_meta`) only check and
pack their arguments and put them on an unbounded queue, so the asyncio loop never waits on
the disk. One writer thread drains the queue in batches, one transaction per batch, and
publishes `acknowledged_seq`: the highest frame seq known committed. `flush()` waits until
everything queued before it is committed. A failed write is retried once; then the failure is
kept in `error` and raised by `flush()`, and the unwritten items stay queued (retried at the
next flush or after `retry_interval_s`), never dropped.

A frame is one row, its values packed against the `channels` table fixed at run creation
(`FRAME_FORMAT`, `bench.run.frame.FrameLayout`): packing 40 numbers costs less than binding 40
rows. A frame the acquisition packed in the same channel order is inserted as it came. Why WAL,
`synchronous = FULL` and these batches: docs/decisions/0005-run-store-durability.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import itertools
import json
import math
import operator
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.run.frame import ABSENT, QUALITY_CODES, Frame, FrameLayout, Row
from instruments.base import Identity, Reading

STORE_NAME = "run.sqlite"
SCHEMA_VERSION = 1  # PRAGMA user_version
POINT_STATUSES = frozenset({"pending", "running", "valid", "invalid", "failed", "skipped"})

_QUALITY_OF = {code: quality for quality, code in QUALITY_CODES.items()}

FRAME_FORMAT = {  # stored in meta, so the file explains itself to other tools
    "value": "float64 little-endian per channel, in channels.idx order; NaN where no value",
    "quality": {str(c): q.value for q, c in QUALITY_CODES.items()} | {str(ABSENT): "absent"},
    "detail": "JSON {channel id: text} for the readings that are not OK, else NULL",
}

# Every step of a load-based point's building emulation (docs/standards.md §7), enough to replay
# it: the inputs (from frame `seq`), the step length, the building's state and heat flows after
# the step, the return temperature commanded and whether the hydraulic module acknowledged it.
EMULATION_SCHEMA = """
CREATE TABLE IF NOT EXISTS emulation_steps (
    point_idx INTEGER NOT NULL, k INTEGER NOT NULL, t REAL NOT NULL, dt REAL NOT NULL,
    seq INTEGER, t_supply REAL NOT NULL, t_return REAL NOT NULL, flow_m3h REAL NOT NULL,
    m_kg_s REAL NOT NULL, phi_hp REAL NOT NULL, phi_hb REAL NOT NULL, phi_ba REAL NOT NULL,
    t_h REAL NOT NULL, t_b REAL NOT NULL, command REAL, ack INTEGER, ack_s REAL, late_s REAL,
    PRIMARY KEY (point_idx, k)
)"""
EMULATION_COLUMNS = (
    "point_idx", "k", "t", "dt", "seq", "t_supply", "t_return", "flow_m3h", "m_kg_s",
    "phi_hp", "phi_hb", "phi_ba", "t_h", "t_b", "command", "ack", "ack_s", "late_s",
)  # fmt: skip

SCHEMA = (
    """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);  -- value: JSON
CREATE TABLE channels (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, unit TEXT NOT NULL);
CREATE TABLE frames (
    seq INTEGER PRIMARY KEY,  -- 0, 1, 2 ... continuous within a run
    t REAL NOT NULL,          -- bench time, epoch seconds
    value BLOB NOT NULL,      -- meta.frame_format
    quality BLOB NOT NULL,
    detail TEXT
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, seq INTEGER,
    kind TEXT NOT NULL, message TEXT NOT NULL, data TEXT
);
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, role TEXT NOT NULL,
    make TEXT NOT NULL, model TEXT NOT NULL, serial TEXT NOT NULL, firmware TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE points (
    idx INTEGER PRIMARY KEY, point_id TEXT NOT NULL, status TEXT NOT NULL,
    started REAL, ended REAL, first_seq INTEGER, last_seq INTEGER, record TEXT NOT NULL
);
"""
    + EMULATION_SCHEMA
)

_INSERT_EVENT = "INSERT INTO events (t, seq, kind, message, data) VALUES (?, ?, ?, ?, ?)"
_INSERT_SNAPSHOT = (
    "INSERT INTO snapshots (t, role, make, model, serial, firmware, settings)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_POINT = "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_UPSERT_META = "INSERT OR REPLACE INTO meta VALUES (?, ?)"
_UPSERT_STEP = f"INSERT OR REPLACE INTO emulation_steps VALUES ({', '.join('?' * 18)})"
_CREATED_META = frozenset(
    {"run_id", "plan_name", "plan_text", "station_text", "hpbench_version", "created"}
    | {"frame_format"}
)
MAX_FRAMES_PER_INSERT = 4096  # x 5 columns, under SQLite's 32766 variables per statement

_STOP = object()  # queue marker: commit what is left, then end the writer thread


class StoreError(Exception):
    """The run store cannot be created, opened or written; the message names the file."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"run store {path}: {reason}")


@dataclass(frozen=True, slots=True)
class Event:
    t: float
    seq: int | None
    kind: str
    message: str
    data: Any  # decoded JSON, None when none was given


@dataclass(frozen=True, slots=True)
class Snapshot:
    t: float
    role: str
    identity: Identity
    settings: Any


@dataclass(frozen=True, slots=True)
class PointRow:
    index: int
    point_id: str
    status: str
    started: float | None
    ended: float | None
    first_seq: int | None
    last_seq: int | None
    record: Any


@dataclass(frozen=True, slots=True)
class _Op:
    """A queued write other than a frame: one statement and its parameters."""

    sql: str
    params: tuple[Any, ...]


class _Batch:
    """Taken from the queue, not yet committed. Frames (bare row tuples, the bulk) and the
    other writes are kept apart, each in its order: the batch commits as one transaction."""

    def __init__(self) -> None:
        self.frames: list[Row] = []
        self.ops: list[_Op] = []

    def __len__(self) -> int:
        return len(self.frames) + len(self.ops)

    def clear(self) -> None:
        self.frames.clear()
        self.ops.clear()


class _Writer:
    """The one thread that writes: drains the queue in batches, one transaction per batch.

    It holds no reference to its `RunStore`, so a store dropped without `close()` is still
    committed by a `weakref.finalize`, at the latest at interpreter exit.
    """

    def __init__(
        self,
        path: Path,
        acknowledged_seq: int,
        *,
        flush_interval_s: float,
        max_batch: int,
        busy_timeout_s: float,
        retry_interval_s: float,
    ) -> None:
        self.path = path
        self.acknowledged_seq = acknowledged_seq
        self.error: StoreError | None = None
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._flush_interval = flush_interval_s
        self._max_batch = max_batch
        self._busy_timeout_ms = round(busy_timeout_s * 1000)
        self._retry_interval = retry_interval_s
        st = os.stat(path)  # the file this run writes, and must go on writing
        self._identity = (st.st_dev, st.st_ino)
        self._conn: sqlite3.Connection | None = None  # the writer thread's own
        self._thread: threading.Thread | None = None  # started by the first write
        self._start_lock = threading.Lock()
        self._closed = False
        self._unwritten = 0

    def put(self, item: Any) -> None:
        if self._closed:
            raise StoreError(self.path, "closed: nothing more can be written")
        if self._thread is None:
            self._start()
        self.queue.put(item)

    def flush_future(self) -> Future[None]:
        """Resolved once everything queued before it is committed; failed with a StoreError."""
        future: Future[None] = Future()
        if self._thread is None and not self._closed:
            future.set_result(None)  # nothing was ever written
        else:
            self.put(future)
        return future

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self.queue.put(_STOP)
            self._thread.join()
        while True:  # whatever raced in behind _STOP: counted, and no flush left waiting
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Future):
                item.set_exception(StoreError(self.path, "closed before this flush"))
            else:
                self._unwritten += 1
        if self._unwritten:
            raise StoreError(
                self.path, f"closed with {self._unwritten} items not written: {self.error}"
            )

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                name = f"run-store {self.path.parent.name}"
                self._thread = threading.Thread(target=self._run, name=name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        batch = _Batch()
        stopping = False
        while not stopping:
            waiters, stopping = self._gather(batch)
            try:
                self._commit_retrying(batch)
            except Exception as exc:  # anything at all: the thread must outlive it
                reason = f"cannot write {len(batch)} queued items ({_describe(exc)}); kept queued"
                self.error = StoreError(self.path, reason)
                for waiter in waiters:
                    waiter.set_exception(StoreError(self.path, reason))
                continue
            if batch.frames:
                self.acknowledged_seq = batch.frames[-1][0]
            batch.clear()
            self.error = None
            for waiter in waiters:
                waiter.set_result(None)
        self._unwritten = len(batch)
        if self._conn is not None:
            self._conn.close()

    def _gather(self, batch: _Batch) -> tuple[list[Future[None]], bool]:
        """Wait for work, then take what comes until a flush, a full batch or the interval
        (after a failure: the retry interval). Returns the flushes to answer, and whether
        to stop."""
        get, get_nowait = self.queue.get, self.queue.get_nowait
        frames, ops = batch.frames, batch.ops
        item = get()
        deadline = time.monotonic() + (self._retry_interval if self.error else self._flush_interval)
        while True:
            if type(item) is tuple:
                frames.append(item)
            elif type(item) is _Op:
                ops.append(item)
            elif item is _STOP:
                return [], True
            else:
                return [item], False  # someone waits: commit now
            if len(frames) + len(ops) >= self._max_batch and not self.error:
                return [], False
            try:
                item = get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return [], False
                try:
                    item = get(timeout=remaining)
                except queue.Empty:
                    return [], False

    def _commit_retrying(self, batch: _Batch) -> None:
        try:
            self._commit(batch)
        except (sqlite3.Error, OSError):
            time.sleep(0.05)
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        if not batch:
            return
        self._check_identity()
        if self._conn is None:
            self._conn = _connect(self.path)
            self._conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            self._conn.execute("PRAGMA synchronous = FULL")  # why: decision 0005
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            _insert_frames(conn, batch.frames)
            for sql, ops in itertools.groupby(batch.ops, key=operator.attrgetter("sql")):
                conn.executemany(sql, [op.params for op in ops])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.rollback()
            raise

    def _check_identity(self) -> None:
        """Writing on to a file that was moved, replaced or deleted loses it all at close."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if st is None or (st.st_dev, st.st_ino) != self._identity:
            raise OSError("the file was moved, replaced or deleted while the run was writing")


def _insert_frames(conn: sqlite3.Connection, rows: list[Row]) -> None:
    """Insert frames with few statements, each the largest power of two of rows that fits
    (so a dozen statement texts exist, each compiled once). Binding is then one C loop and
    SQLite works in long stretches without the GIL, where acquisition can pack meanwhile:
    about 20% less CPU than `executemany` of one-row statements (benchmarks/store.py)."""
    i = 0
    while i < len(rows):
        n = min(1 << ((len(rows) - i).bit_length() - 1), MAX_FRAMES_PER_INSERT)
        conn.execute(_insert_frames_sql(n), tuple(itertools.chain.from_iterable(rows[i : i + n])))
        i += n


@functools.cache
def _insert_frames_sql(n: int) -> str:
    return "INSERT INTO frames VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * n)


class RunStore:
    """One run's `run.sqlite`: queued, batched writes and synchronous reads.

    Frames are appended from one thread (the acquisition loop), in increasing seq; the other
    writes may come from any thread. Readers have their own connection: they work while the
    writer runs and on a finished run, and see what is committed.
    """

    def __init__(
        self,
        path: Path,
        *,
        flush_interval_s: float = 0.25,
        max_batch: int = 4096,
        busy_timeout_s: float = 5.0,
        retry_interval_s: float = 1.0,
    ) -> None:
        """Attach to an existing store file; use `create` or `open`."""
        self.path = Path(path).absolute()  # the writer checks this file's identity by name
        self._read_lock = threading.Lock()
        self._read_conn: sqlite3.Connection | None = None
        channels = self.channels()
        self._layout = FrameLayout(channels)
        self._accepted = self._layout  # the last layout found equal to the run's
        self._units = tuple(channels.values())
        self._last_appended = self.last_seq()
        self._writer = _Writer(
            self.path,
            self._last_appended,
            flush_interval_s=flush_interval_s,
            max_batch=max_batch,
            busy_timeout_s=busy_timeout_s,
            retry_interval_s=retry_interval_s,
        )
        self._finalizer = weakref.finalize(self, self._writer.close)

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        run_id: str,
        plan_name: str,
        plan_text: str,
        station_text: str,
        channels: Mapping[str, str],
        **options: Any,
    ) -> RunStore:
        """A new store: schema, metadata and the channel table (id -> unit, in this order).

        Blocking (a few ms and an fsync): call it before the run starts, or in a thread.
        """
        path = Path(path)
        meta = {
            "run_id": run_id,
            "plan_name": plan_name,
            "plan_text": plan_text,
            "station_text": station_text,
            "hpbench_version": _version(),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "frame_format": FRAME_FORMAT,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))  # ours alone
        except FileExistsError:
            raise StoreError(path, "already exists (RunStore.open resumes a run)") from None
        except OSError as exc:
            raise StoreError(path, f"cannot create: {exc}") from exc
        try:
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("BEGIN")
                for statement in SCHEMA.split(";"):  # executescript() would commit first
                    conn.execute(statement)
                conn.executemany(_UPSERT_META, [(k, _json(v)) for k, v in meta.items()])
                conn.executemany(
                    "INSERT INTO channels VALUES (?, ?, ?)",
                    [(i, str(cid), str(unit)) for i, (cid, unit) in enumerate(channels.items())],
                )
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            finally:
                conn.close()
            _fsync_directory(path.parent)  # the new file's name survives a power cut too
        except (sqlite3.Error, OSError) as exc:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)  # no half-made store blocks a retry
            raise StoreError(path, f"cannot create: {exc}") from exc
        return cls(path, **options)

    @classmethod
    def open(cls, path: Path, **options: Any) -> RunStore:
        """An existing run, given its directory or its file: for --resume and for reports.

        Opening recovers the WAL of a run that crashed. New frames continue after
        `last_seq()`. No writer thread starts until something is written.
        """
        path = Path(path)
        if path.is_dir():
            path = path / STORE_NAME
        try:
            conn = _connect(path)
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == SCHEMA_VERSION:  # a store from before load-based points
                    conn.execute(EMULATION_SCHEMA)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StoreError(path, f"cannot open: {exc}") from exc
        if version != SCHEMA_VERSION:
            raise StoreError(path, f"not a run store of schema {SCHEMA_VERSION} ({version})")
        return cls(path, **options)

    def close(self) -> None:
        """Commit everything queued and stop the writer (blocking: `await flush()` first to
        make it quick). Raises StoreError if anything could not be written."""
        try:
            self._finalizer()
        finally:
            with self._read_lock:
                if self._read_conn is not None:
                    self._read_conn.close()
                    self._read_conn = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing: check, pack, enqueue, return -------------------------------------------

    @property
    def acknowledged_seq(self) -> int:
        """The highest frame seq known committed; -1 before the first."""
        return self._writer.acknowledged_seq

    @property
    def error(self) -> StoreError | None:
        """Why the last write failed, until a later one succeeds (nothing is dropped)."""
        return self._writer.error

    def append(self, frame: Frame) -> None:
        """Queue one frame. Each reading is stored with its channel's unit.

        A frame packed in the run's channel order (`FrameLayout.frame`) is queued as it is;
        any other is packed here. Raises ValueError for a seq not above the previous one or a
        channel the run does not have: a row that cannot be inserted must not reach, and block,
        the writer.
        """
        if frame.seq <= self._last_appended:
            raise ValueError(f"frame seq {frame.seq} after {self._last_appended}: not increasing")
        row = frame.row
        if row is None or (frame.layout is not self._accepted and not self._accept(frame.layout)):
            row = self._layout.row(frame.seq, frame.t, frame.readings)
        self._writer.put(row)
        self._last_appended = frame.seq

    def _accept(self, layout: FrameLayout | None) -> bool:
        """Whether rows packed in `layout` fit this run's channels table (remembered: the
        acquisition packs every frame of a run in the same layout object)."""
        if layout is None or layout.ids != self._layout.ids:
            return False
        self._accepted = layout
        return True

    def event(
        self,
        t: float,
        kind: str,
        message: str,
        data: Mapping[str, Any] | None = None,
        seq: int | None = None,
    ) -> None:
        """Queue an event: a state change, operator action, alarm, gap or fault."""
        payload = None if data is None else _json(data)
        row = (float(t), None if seq is None else int(seq), str(kind), str(message), payload)
        self._writer.put(_Op(_INSERT_EVENT, row))

    def snapshot(
        self, t: float, role: str, identity: Identity | Mapping[str, str], settings: Any
    ) -> None:
        """Queue what an instrument said it is, and its settings, when it (re)connected."""
        fields = asdict(identity) if isinstance(identity, Identity) else identity
        ident = tuple(str(fields.get(k, "")) for k in ("make", "model", "serial", "firmware"))
        self._writer.put(_Op(_INSERT_SNAPSHOT, (float(t), str(role), *ident, _json(settings))))

    def put_point(
        self,
        index: int,
        point_id: str,
        status: str,
        record: Mapping[str, Any],
        *,
        started: float | None = None,
        ended: float | None = None,
        first_seq: int | None = None,
        last_seq: int | None = None,
    ) -> None:
        """Queue a plan point's state; it replaces the point's row, so a resumed run can redo
        an interrupted point."""
        if status not in POINT_STATUSES:
            raise ValueError(f"point status {status!r}: not one of {sorted(POINT_STATUSES)}")
        row = (
            int(index),
            str(point_id),
            status,
            _float_or_none(started),
            _float_or_none(ended),
            None if first_seq is None else int(first_seq),
            None if last_seq is None else int(last_seq),
            _json(record),
        )
        self._writer.put(_Op(_UPSERT_POINT, row))

    def put_emulation_step(self, row: Mapping[str, Any]) -> None:
        """Queue one emulation step (`EMULATION_COLUMNS`; a step stored again replaces it)."""
        self._writer.put(_Op(_UPSERT_STEP, tuple(row[c] for c in EMULATION_COLUMNS)))

    def put_meta(self, key: str, value: Any) -> None:
        """Queue a run setting (any JSON value). What `create` recorded cannot change."""
        if key in _CREATED_META:
            raise ValueError(f"meta {key!r} is recorded at creation and cannot change")
        self._writer.put(_Op(_UPSERT_META, (str(key), _json(value))))

    async def flush(self) -> None:
        """Wait, without blocking the loop, until everything queued so far is committed.
        Raises StoreError if it cannot be (the items stay queued)."""
        await asyncio.wrap_future(self._writer.flush_future())

    def flush_sync(self, timeout: float | None = None) -> None:
        """`flush` for threads and scripts."""
        self._writer.flush_future().result(timeout)

    # -- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._read_lock:
            if self._read_conn is None:
                try:
                    self._read_conn = _connect(self.path)
                except sqlite3.Error as exc:
                    raise StoreError(self.path, f"cannot open: {exc}") from exc
                self._read_conn.execute("PRAGMA query_only = ON")
            return self._read_conn.execute(sql, params).fetchall()

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._query("SELECT key, value FROM meta")}

    def channels(self) -> dict[str, str]:
        """Channel id -> unit, in the order frames pack them."""
        return dict(self._query("SELECT id, unit FROM channels ORDER BY idx"))

    def last_seq(self) -> int:
        """The highest committed frame seq; -1 when there is none."""
        (seq,) = self._query("SELECT max(seq) FROM frames")[0]
        return -1 if seq is None else seq

    def frames(self, first: int = 0, last: int | None = None, chunk: int = 1000) -> Iterator[Frame]:
        """Frames first..last (inclusive), in seq order. Read in chunks: no read transaction
        stays open across yields, so a slow consumer never holds back the WAL checkpoint.

        Readings come back with the channel's unit; a detail only where it was not OK.
        """
        last = (1 << 62) if last is None else last
        while first <= last:
            rows = self._query(
                "SELECT seq, t, value, quality, detail FROM frames"
                " WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?",
                (first, last, chunk),
            )
            for row in rows:
                yield self._unpack(*row)
            if len(rows) < chunk:
                return
            first = rows[-1][0] + 1

    def _unpack(
        self, seq: int, t: float, value: bytes, quality: bytes, detail: str | None
    ) -> Frame:
        details = json.loads(detail) if detail else {}
        readings = {}
        columns = zip(
            self._layout.ids, self._units, self._layout.unpack(value), quality, strict=True
        )
        for cid, unit, v, q in columns:
            if q != ABSENT:
                number = None if math.isnan(v) else v
                readings[cid] = Reading(number, unit, _QUALITY_OF[q], details.get(cid, ""))
        return Frame(seq, t, readings)

    def gaps(self) -> list[tuple[int, int]]:
        """Seq ranges (inclusive) missing between 0 and the last frame."""
        rows = self._query(
            "SELECT prev + 1, seq - 1 FROM"
            " (SELECT seq, lag(seq, 1, -1) OVER (ORDER BY seq) AS prev FROM frames)"
            " WHERE seq > prev + 1"
        )
        return [(a, b) for a, b in rows]

    def events(self, kinds: set[str] | None = None) -> list[Event]:
        rows = self._query("SELECT t, seq, kind, message, data FROM events ORDER BY id")
        return [
            Event(t, seq, kind, message, None if data is None else json.loads(data))
            for t, seq, kind, message, data in rows
            if kinds is None or kind in kinds
        ]

    def snapshots(self, role: str | None = None) -> list[Snapshot]:
        rows = self._query(
            "SELECT t, role, make, model, serial, firmware, settings FROM snapshots ORDER BY id"
        )
        return [
            Snapshot(t, r, Identity(*ident), json.loads(settings))
            for t, r, *ident, settings in rows
            if role is None or r == role
        ]

    def emulation_steps(self, point_idx: int | None = None) -> list[dict[str, Any]]:
        """The stored emulation steps (of one point), in order, as column -> value."""
        where, params = ("", ()) if point_idx is None else (" WHERE point_idx = ?", (point_idx,))
        columns = ", ".join(EMULATION_COLUMNS)
        rows = self._query(
            f"SELECT {columns} FROM emulation_steps{where} ORDER BY point_idx, k",
            params,
        )
        return [dict(zip(EMULATION_COLUMNS, row, strict=True)) for row in rows]

    def points(self) -> list[PointRow]:
        rows = self._query(
            "SELECT idx, point_id, status, started, ended, first_seq, last_seq, record"
            " FROM points ORDER BY idx"
        )
        return [
            PointRow(index, point_id, status, started, ended, first, last, json.loads(record))
            for index, point_id, status, started, ended, first, last, record in rows
        ]


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to an existing store: mode=rw never creates an empty file by mistake."""
    uri = f"{Path(path).resolve().as_uri()}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def _describe(exc: BaseException) -> str:
    """The message, and SQLite's precise code when there is one (SQLITE_FULL, _IOERR_WRITE)."""
    code = getattr(exc, "sqlite_errorname", None)
    return f"{exc}: {code}" if code else str(exc)


def _json(value: Any) -> str:
    """Events and records are for people and reports: what JSON lacks is kept as its str()."""
    return json.dumps(value, default=str, ensure_ascii=False)


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def _version() -> str:
    try:
        return metadata.version("hpbench")
    except metadata.PackageNotFoundError:
        return "unknown"


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
