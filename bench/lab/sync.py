"""One sealed run into the lab database: dimensions first, then the run in one transaction.

Idempotent by the package hash (SHA-256 of SHA256SUMS): the same package again changes
nothing ("already synced"); another package under the same run id is refused. A connection
lost part-way leaves nothing of the run behind (its transaction never committed); the
stations, units, instruments and frame partitions it created first are shared rows that
the retry reuses.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from bench.lab.package import COPY_HEADER, COPY_TRAILER, Buffer, Package
from bench.lab.schema import MIGRATION_LOCK

# Rows per packed block (~300 KB of binary COPY data at 42 channels). Fewer than the cyclic
# GC's first threshold (700 new container objects): a block's row tuples are gone before a
# collection could see them. Blocks of 5000 set off collections that promoted them, and now
# and then a full one over the whole heap: 50-120 ms, more than the rest of our work.
BATCH_FRAMES = 500
COPY_FRAMES = "COPY frames (run, seq, t, value, quality, detail) FROM STDIN (FORMAT binary)"
PARTITION_LOCK = MIGRATION_LOCK + 1


class SyncRefused(Exception):
    """The database holds another package under this run id; str() says which."""


@dataclass(frozen=True)
class SyncOutcome:
    run_id: str
    status: str  # "synced" | "already synced"
    frames: int

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.status} ({self.frames} frames)"


def sync_run(
    conn: psycopg.Connection,
    package: Package,
    *,
    batch: int = BATCH_FRAMES,
    on_batch: Callable[[int], None] | None = None,
) -> SyncOutcome:
    """Put `package` into the database `conn` (autocommit) points at; see the module doc.

    Five round trips whatever the run's size (a raw COPY takes four): the lookup; one
    pipeline with the shared rows' transaction and the run's row; the frames' COPY (two);
    one pipeline with the run's other rows and the commit. Ordered so that the server never
    waits for us: the frames are read and packed in a thread from the lookup on, and the
    other rows are made while the server stores the frames (the run's row goes first: the
    frames reference it)."""
    run = package.result["run"]
    sha, frames, directory, run_pk = conn.execute(LOOKUP, (package.run_id,)).fetchone()
    if sha is not None:
        return _outcome(package, sha, frames, directory)
    with contextlib.ExitStack() as reading:
        blocks = reading.enter_context(package.copy_blocks(run_pk, batch))
        try:
            try:
                with conn.pipeline():
                    _shared_rows(conn, package.result)
                    conn.execute("BEGIN")
                    _run_row(conn, run_pk, package)
            except psycopg.errors.UniqueViolation as exc:
                if exc.diag.constraint_name == "runs_run_id_key":  # another sync of this run
                    raise _Concurrent from None  # committed while we prepared ours
                raise
            rest: list[_Rows] = []
            copied = _frames(
                conn,
                blocks,
                run["frames"],
                batch,
                on_batch,
                lambda: rest.extend(_other_rows(run_pk, package)),
            )
            if copied != run["frames"]:
                raise SyncRefused(
                    f"run {package.run_id}: copied {copied} frames of {run['frames']}"
                )
            with conn.pipeline():
                cur = conn.cursor()
                for query, rows in rest:
                    cur.executemany(query, rows)
                conn.execute("COMMIT")
        except BaseException:
            if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):  # the error that got us here matters
                    conn.execute("ROLLBACK")
            raise
    return SyncOutcome(package.run_id, "synced", copied)


# the run's row if synced, else a key for it from its sequence (taken only then)
LOOKUP = (
    "SELECT r.package_sha256, r.frames, r.directory,"
    " CASE WHEN r.id IS NULL THEN nextval(pg_get_serial_sequence('runs', 'id')) END"
    " FROM (VALUES (%s::text)) AS k (run_id) LEFT JOIN runs r USING (run_id)"
)


class _Concurrent(Exception):
    """The run row appeared between our check and our insert: check again."""


def sync_package(conn: psycopg.Connection, package: Package, **kw: Any) -> SyncOutcome:
    """`sync_run`, once more if another process synced the same run at the same moment."""
    try:
        return sync_run(conn, package, **kw)
    except _Concurrent:
        row = conn.execute(
            "SELECT package_sha256, frames, directory FROM runs WHERE run_id = %s",
            (package.run_id,),
        ).fetchone()
        assert row is not None
        return _outcome(package, *row)


def _outcome(package: Package, sha: str, frames: int, directory: str) -> SyncOutcome:
    """The run is in the database: a no-op if it is this package, else refused."""
    if sha != package.sha256:
        raise SyncRefused(
            f"run {package.run_id}: the database holds another package under this run id "
            f"({directory}, SHA256SUMS {sha[:16]}…; this one {package.sha256[:16]}…): refused"
        )
    return SyncOutcome(package.run_id, "already synced", frames)


def _shared_rows(conn: psycopg.Connection, result: dict[str, Any]) -> None:
    """Station, unit, instrument rows and the frames' partitions, shared by runs, in a
    transaction of their own: a first sync of a new instrument never makes a concurrent sync
    wait for its whole COPY. Committed without waiting for the disk: the run's transaction
    commits after it and waits for its WAL, which holds these records too; a crash before
    that loses rows the retry makes again. (ON CONFLICT DO NOTHING takes no lock on a
    committed row; the run's rows find theirs by key.)"""
    bench, unit, run = result["bench"], result["unit"], result["run"]
    conn.execute("BEGIN")
    conn.execute("SET LOCAL synchronous_commit TO off")
    conn.execute(
        "INSERT INTO stations (name, lab) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (bench["name"], bench.get("lab") or ""),
    )
    conn.execute(
        "INSERT INTO units (make, model, serial, refrigerant) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        (unit["make"], unit["model"], unit["serial"], unit.get("refrigerant")),
    )
    conn.cursor().executemany(
        "INSERT INTO instruments (driver, serial, make, model) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        [
            (
                entry["driver"],
                entry.get("serial") or "",
                (entry.get("reported") or {}).get("make") or "",
                (entry.get("reported") or {}).get("model") or "",
            )
            for entry in result["instruments"]
        ],
    )
    for statement in partition_statements(run.get("first_frame"), run.get("last_frame")):
        conn.execute(statement)
    conn.execute("COMMIT")


def partition_statements(first: str | None, last: str | None) -> list[sql.Composed]:
    """Native partitioning: one partition per calendar month (UTC) the run's frames touch,
    made if missing. One statement each, deciding on the server (no round trip to ask): a
    no-op under TimescaleDB or when the month's partition exists, else made under a lock
    (two benches making the same month at once would collide on the catalog)."""
    if first is None or last is None:
        return []
    month = _month(dt.datetime.fromisoformat(first))
    end = _month(dt.datetime.fromisoformat(last))
    statements = []
    while month <= end:
        following = _month(month + dt.timedelta(days=32))
        name = f"frames_{month:%Y_%m}"
        statements.append(
            sql.SQL(PARTITION).format(
                name=sql.Literal(name),
                table=sql.Identifier(name),
                lock=sql.Literal(PARTITION_LOCK),
                start=sql.Literal(month.isoformat()),
                end=sql.Literal(following.isoformat()),
            )
        )
        month = following
    return statements


PARTITION = """DO $$ BEGIN
    IF to_regclass({name}) IS NULL
        AND EXISTS (SELECT FROM pg_partitioned_table WHERE partrelid = 'frames'::regclass)
    THEN
        PERFORM pg_advisory_xact_lock({lock});
        CREATE TABLE IF NOT EXISTS {table} PARTITION OF frames
            FOR VALUES FROM ({start}) TO ({end});
    END IF;
END $$"""


def _month(when: dt.datetime) -> dt.datetime:
    when = when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _run_row(conn: psycopg.Connection, run_pk: int, package: Package) -> None:
    """The run's row, queued in the caller's pipeline. It waits for another sync of the same
    run in progress and fails on its run id if that commits. `result` is the verified
    result.json as read: no Python round trip through a dict."""
    result = package.result
    run, bench, unit = result["run"], result["bench"], result["unit"]
    conn.execute(
        "INSERT INTO runs (id, run_id, directory, station_id, unit_id, plan_name, plan_sha256,"
        " plan_text, standard, operator, profile_name, profile_version, outcome, simulated,"
        " speed, created, first_frame, last_frame, frames, hpbench_version, station_sha256,"
        " package_sha256, result) OVERRIDING SYSTEM VALUE VALUES (%s, %s, %s,"
        " (SELECT id FROM stations WHERE name = %s),"
        " (SELECT id FROM units WHERE make = %s AND model = %s AND serial = %s),"
        " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
        (
            run_pk,
            package.run_id,
            run["directory"],
            bench["name"],
            *(unit["make"], unit["model"], unit["serial"]),
            result["plan"]["name"],
            result["plan"].get("sha256"),
            package.meta("plan_text"),
            result["plan"].get("standard"),
            result["plan"].get("operator"),
            result["profile"].get("name"),
            result["profile"].get("version"),
            run.get("outcome"),
            bool(run.get("simulated")),
            run.get("speed"),
            run.get("created"),
            run.get("first_frame"),
            run.get("last_frame"),
            run["frames"],
            run.get("hpbench_version"),
            bench.get("station_sha256"),
            package.sha256,
            package.result_text,
        ),
    )


_Rows = tuple[str, list[tuple[Any, ...]]]  # a statement and its parameter rows


def _other_rows(run_pk: int, package: Package) -> list[_Rows]:
    """The run's calibrations, points, events and channels, as statements to queue in one
    pipeline (made while the server stores the frames)."""
    result = package.result
    calibrations = (
        "INSERT INTO calibrations (run, role, instrument, address, firmware, due, status,"
        " accuracy) VALUES (%s, %s, (SELECT id FROM instruments WHERE driver = %s AND"
        " serial = %s), %s, %s, %s, %s, %s)",
        [
            (
                run_pk,
                entry["role"],
                entry["driver"],
                entry.get("serial") or "",
                entry.get("address"),
                (entry.get("reported") or {}).get("firmware"),
                entry.get("calibration_due"),
                entry.get("calibration"),
                Jsonb(entry.get("accuracy") or {}),
            )
            for entry in result["instruments"]
        ],
    )
    events = (
        "INSERT INTO events (run, id, t, seq, kind, message, data) SELECT %s, id,"
        " to_timestamp(t), seq, kind, message, data::jsonb FROM unnest(%b::int4[],"
        " %b::float8[], %b::int4[], %b::text[], %b::text[], %b::text[])"
        " AS e (id, t, seq, kind, message, data)",  # binary: 6x less CPU to send than text
        [(run_pk, *_columns(package.events(), 6))],
    )
    channels = (
        "INSERT INTO channels (run, idx, channel, unit) SELECT %s, idx, channel, unit"
        " FROM unnest(%b::text[], %b::text[]) WITH ORDINALITY AS c (channel, unit, idx)",
        [(run_pk, *_columns(package.channels, 2))],
    )
    return [calibrations, *_points(run_pk, result), events, channels]


def _points(run: int, result: dict[str, Any]) -> list[_Rows]:
    points, quantities = [], []
    for position, p in enumerate(result["points"]):
        results = p.get("results") or {}
        unc = p.get("uncertainty") or {}

        def expanded(name: str, unc: dict[str, Any] = unc) -> float | None:
            entry = unc.get(name)
            return entry.get("U") if isinstance(entry, dict) else None

        points.append(
            (
                run,
                p["index"],
                p["id"],
                p["status"],
                p.get("reason"),
                p.get("started"),
                p.get("ended"),
                p.get("first_seq"),
                p.get("last_seq"),
                results.get("capacity_w"),
                expanded("capacity_w"),
                results.get("power_w"),
                expanded("power_w"),
                results.get("cop"),
                expanded("cop"),
                position,
                run,
            )
        )
        for name, value in results.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                entry = unc.get(name) if isinstance(unc.get(name), dict) else {}
                numbers = (value, entry.get("u"), entry.get("U"), unc.get("k"))
                quantities.append((p["index"], name, *(_float(x) for x in numbers)))
    return [
        (
            "INSERT INTO points (run, idx, point_id, status, reason, started, ended, first_seq,"
            " last_seq, capacity_w, capacity_u_w, power_w, power_u_w, cop, cop_u, result)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " (SELECT result -> 'points' -> %s FROM runs WHERE id = %s))",  # parsed once
            points,
        ),
        (  # one statement, not one per quantity (binary arrays: see the events)
            "INSERT INTO point_results (run, idx, quantity, value, u, expanded_u, k) SELECT"
            " %s, * FROM unnest(%b::int4[], %b::text[], %b::float8[], %b::float8[],"
            " %b::float8[], %b::float8[])",
            [(run, *_columns(quantities, 6))],
        ),
    ]


def _float(x: float | None) -> float | None:
    """A number of result.json as float: a binary array takes one type (JSON 3 is an int)."""
    return None if x is None else float(x)


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """`rows` as `width` column lists, for `unnest` on the server."""
    return [list(c) for c in zip(*rows, strict=True)] or [[] for _ in range(width)]


def _frames(
    conn: psycopg.Connection,
    blocks: Iterable[list[Buffer]],
    total: int,
    batch: int,
    on_batch: Callable[[int], None] | None,
    meanwhile: Callable[[], object],
) -> int:
    """Every frame with binary COPY, one packed block of `batch` rows per write; returns the
    rows the server took. The data is buffered faster than the server stores it:
    `meanwhile()` runs after the last write, while the server works through the rest."""
    copied = 0
    cur = conn.cursor()
    with cur.copy(COPY_FRAMES) as copy:
        copy.write(COPY_HEADER)
        for block in blocks:
            for part in block:
                copy.write(part)
            copied = min(copied + batch, total)
            if on_batch is not None:
                on_batch(copied)
        copy.write(COPY_TRAILER)
        meanwhile()
    return cur.rowcount
