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
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from bench.lab.package import COPY_HEADER, COPY_TRAILER, Package
from bench.lab.schema import MIGRATION_LOCK, frames_partitioning

BATCH_FRAMES = 5000  # rows per COPY write: ~2 MB of text at 40 channels
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
    """Put `package` into the database `conn` (autocommit) points at; see the module doc."""
    result = package.result
    run = result["run"]
    existing = _existing(conn, package)
    if existing is not None:
        return existing
    # the run's key first, so its frames and events are read and packed in threads while
    # the round trips below go on
    (run_pk,) = conn.execute("SELECT nextval(pg_get_serial_sequence('runs', 'id'))").fetchone()
    with (
        ThreadPoolExecutor(1, thread_name_prefix="lab-events") as pool,
        package.copy_blocks(run_pk, batch) as blocks,
    ):
        events = pool.submit(package.events_copy, run_pk)
        station_id, unit_id, instrument_ids = _dimensions(conn, result)
        ensure_partitions(conn, run.get("first_frame"), run.get("last_frame"))
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO runs (id, run_id, directory, station_id, unit_id, plan_name,"
                " plan_sha256, plan_text, standard, operator, profile_name, profile_version,"
                " outcome, simulated, speed, created, first_frame, last_frame, frames,"
                " hpbench_version, station_sha256, package_sha256, result) OVERRIDING SYSTEM"
                " VALUE VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id) DO NOTHING RETURNING id",
                (
                    run_pk,
                    package.run_id,
                    run["directory"],
                    station_id,
                    unit_id,
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
                    result["bench"].get("station_sha256"),
                    package.sha256,
                    Jsonb(result),
                ),
            ).fetchone()
            if row is None:  # another sync of this run committed while we prepared
                raise _Concurrent
            _calibrations(conn, run_pk, result, instrument_ids)
            _points(conn, run_pk, result)
            with conn.cursor().copy(
                "COPY events (run, id, t, seq, kind, message, data) FROM STDIN"
            ) as copy:
                copy.write(events.result())
            conn.cursor().executemany(
                "INSERT INTO channels (run, idx, channel, unit) VALUES (%s, %s, %s, %s)",
                [(run_pk, i, c, u) for i, (c, u) in enumerate(package.channels, 1)],
            )
            copied = _frames(conn, blocks, run["frames"], batch, on_batch)
            if copied != run["frames"]:
                raise SyncRefused(
                    f"run {package.run_id}: copied {copied} frames of {run['frames']}"
                )
    return SyncOutcome(package.run_id, "synced", copied)


class _Concurrent(Exception):
    """The run row appeared between our check and our insert: check again."""


def sync_package(conn: psycopg.Connection, package: Package, **kw: Any) -> SyncOutcome:
    """`sync_run`, once more if another process synced the same run at the same moment."""
    try:
        return sync_run(conn, package, **kw)
    except _Concurrent:
        outcome = _existing(conn, package)
        assert outcome is not None
        return outcome


def _existing(conn: psycopg.Connection, package: Package) -> SyncOutcome | None:
    row = conn.execute(
        "SELECT package_sha256, frames, directory FROM runs WHERE run_id = %s", (package.run_id,)
    ).fetchone()
    if row is None:
        return None
    sha, frames, directory = row
    if sha != package.sha256:
        raise SyncRefused(
            f"run {package.run_id}: the database holds another package under this run id "
            f"({directory}, SHA256SUMS {sha[:16]}…; this one {package.sha256[:16]}…): refused"
        )
    return SyncOutcome(package.run_id, "already synced", frames)


def _id(conn: psycopg.Connection, table: str, key: dict[str, Any], **extra: Any) -> int:
    """Insert-or-find by `key`: ON CONFLICT DO NOTHING takes no lock on a committed row."""
    columns = {**key, **extra}
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    row = conn.execute(insert, list(columns.values())).fetchone()
    if row is None:
        where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in key)
        select = sql.SQL("SELECT id FROM {} WHERE {}").format(sql.Identifier(table), where)
        row = conn.execute(select, list(key.values())).fetchone()
    assert row is not None
    return int(row[0])


def _dimensions(conn: psycopg.Connection, result: dict[str, Any]) -> tuple[int, int, list[int]]:
    """Station, unit and instrument rows (shared by runs), committed on their own: a first
    sync of a new instrument never makes a concurrent sync wait for its whole COPY."""
    bench, unit = result["bench"], result["unit"]
    with _prelude(conn):
        station = _id(conn, "stations", {"name": bench["name"]}, lab=bench.get("lab") or "")
        unit_id = _id(
            conn,
            "units",
            {"make": unit["make"], "model": unit["model"], "serial": unit["serial"]},
            refrigerant=unit.get("refrigerant"),
        )
        instruments = []
        for entry in result["instruments"]:
            reported = entry.get("reported") or {}
            key = {"driver": entry["driver"], "serial": entry.get("serial") or ""}
            instruments.append(
                _id(
                    conn,
                    "instruments",
                    key,
                    make=reported.get("make") or "",
                    model=reported.get("model") or "",
                )
            )
    return station, unit_id, instruments


def ensure_partitions(conn: psycopg.Connection, first: str | None, last: str | None) -> None:
    """Native partitioning: one partition per calendar month (UTC) the run's frames touch."""
    if first is None or last is None or frames_partitioning(conn) != "native":
        return
    month = _month(dt.datetime.fromisoformat(first))
    end = _month(dt.datetime.fromisoformat(last))
    with _prelude(conn):
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
        while month <= end:
            following = _month(month + dt.timedelta(days=32))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF frames FOR VALUES FROM ({}) TO ({})"
                ).format(
                    sql.Identifier(f"frames_{month:%Y_%m}"),
                    sql.Literal(month.isoformat()),
                    sql.Literal(following.isoformat()),
                )
            )
            month = following


@contextlib.contextmanager
def _prelude(conn: psycopg.Connection) -> Iterator[None]:
    """A transaction for the shared rows a sync needs before its own: committed without
    waiting for the disk. The run's transaction commits after it and waits for its WAL, which
    holds these records too; a crash before that loses rows the retry makes again. One disk
    flush per sync, not three (each costs tens of ms on a busy disk)."""
    with conn.transaction():
        conn.execute("SET LOCAL synchronous_commit TO off")
        yield


def _month(when: dt.datetime) -> dt.datetime:
    when = when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _calibrations(
    conn: psycopg.Connection, run: int, result: dict[str, Any], instruments: list[int]
) -> None:
    rows = [
        (
            run,
            entry["role"],
            instrument,
            entry.get("address"),
            (entry.get("reported") or {}).get("firmware"),
            entry.get("calibration_due"),
            entry.get("calibration"),
            Jsonb(entry.get("accuracy") or {}),
        )
        for entry, instrument in zip(result["instruments"], instruments, strict=True)
    ]
    conn.cursor().executemany(
        "INSERT INTO calibrations (run, role, instrument, address, firmware, due, status,"
        " accuracy) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        rows,
    )


def _points(conn: psycopg.Connection, run: int, result: dict[str, Any]) -> None:
    points, quantities = [], []
    for p in result["points"]:
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
                Jsonb(p),
            )
        )
        for name, value in results.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                entry = unc.get(name) if isinstance(unc.get(name), dict) else {}
                quantities.append(
                    (run, p["index"], name, value, entry.get("u"), entry.get("U"), unc.get("k"))
                )
    cur = conn.cursor()
    cur.executemany(
        "INSERT INTO points (run, idx, point_id, status, reason, started, ended, first_seq,"
        " last_seq, capacity_w, capacity_u_w, power_w, power_u_w, cop, cop_u, result)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        points,
    )
    cur.executemany(
        "INSERT INTO point_results (run, idx, quantity, value, u, expanded_u, k)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        quantities,
    )


def _frames(
    conn: psycopg.Connection,
    blocks: Iterable[bytes],
    total: int,
    batch: int,
    on_batch: Callable[[int], None] | None,
) -> int:
    """Every frame with binary COPY, one packed block of `batch` rows per write; returns the
    rows the server took."""
    copied = 0
    cur = conn.cursor()
    with cur.copy(COPY_FRAMES) as copy:
        copy.write(COPY_HEADER)
        for block in blocks:
            copy.write(block)
            copied = min(copied + batch, total)
            if on_batch is not None:
                on_batch(copied)
        copy.write(COPY_TRAILER)
    return cur.rowcount
