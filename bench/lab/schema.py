"""Numbered SQL migrations (`bench/lab/migrations/NNNN_*.sql`), applied in order, once each.

`schema_version` records what is applied. Each file runs in its own transaction under an
advisory lock, so ten benches starting `hpbench lab init` at once apply each file once.
No Alembic: the schema is plain SQL a lab's DBA can read and apply with psql.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

MIGRATION_LOCK = 0x6870_6C61_6201  # pg_advisory_xact_lock key: "hplab" + 1
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped in the package, by version."""
    found = []
    for entry in resources.files("bench.lab.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def applied(conn: psycopg.Connection) -> list[int]:
    """The versions applied to this database ([] when it has no schema_version)."""
    row = conn.execute("SELECT to_regclass('schema_version')").fetchone()
    if row is None or row[0] is None:
        return []
    return [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply every migration not yet applied; returns the names applied now."""
    done: list[str] = []
    for migration in migrations():
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
                " name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"
            )
            if migration.version in applied(conn):
                continue
            conn.execute(migration.sql)  # several statements: simple protocol, no parameters
            conn.execute(
                "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            done.append(migration.name)
    return done


def frames_partitioning(conn: psycopg.Connection) -> str:
    """'native' (range partitions made by sync), 'timescaledb' or 'none'."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'frames'::regclass)"
    ).fetchone()
    if row and row[0]:
        return "native"
    hyper = conn.execute("SELECT to_regclass('timescaledb_information.hypertables')").fetchone()
    return "timescaledb" if hyper and hyper[0] else "none"
