"""`hpbench lab sync`: every frame, point, event of a sealed run in PostgreSQL, checked against
the run's own store and result.json; the same run twice changes nothing; a tampered package
and another package under the same run id are refused; a crash of the server mid-COPY leaves
nothing half-written."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import struct
import threading
import time
from pathlib import Path

import psycopg
import pytest

from bench.lab.package import open_package
from bench.lab.sync import sync_package
from bench.store import RunStore
from tests.bench.lab.conftest import count, hpbench

TABLES = ("runs", "points", "point_results", "events", "frames", "channels", "calibrations")


def reseal(run_dir: Path) -> None:
    """Make a valid package of an edited store, as a new run would be: `hpbench report` refuses
    to remake the files of a store that no longer matches its seal, so the old seal goes first."""
    for name in ("SHA256SUMS", "SHA256SUMS.sig"):
        (run_dir / name).unlink(missing_ok=True)
    done = hpbench("report", str(run_dir))
    assert done.returncode == 0, done.stderr


def table_counts(url: str) -> dict[str, int]:
    return {t: count(url, f"SELECT count(*) FROM {t}") for t in TABLES}


def store_rows(run_dir: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(run_dir / "run.sqlite")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_run_lands_whole_and_twice_is_a_no_op(lab_url, demo_runs):
    run_dir = demo_runs["bench-a"]
    first = hpbench("lab", "sync", str(run_dir), "--db", lab_url)
    assert first.returncode == 0, first.stderr
    assert "synced (" in first.stdout
    before = table_counts(lab_url)

    # frames: the same numbers, the same values as the run's own store reads them back
    store = RunStore.open(run_dir)
    try:
        frames = list(store.frames())
        channels = list(store.channels())
    finally:
        store.close()
    with psycopg.connect(lab_url) as conn:
        seqs = [s for (s,) in conn.execute("SELECT seq FROM frames ORDER BY seq")]
        assert seqs == [f.seq for f in frames]
        db_channels = [c for (c,) in conn.execute("SELECT channel FROM channels ORDER BY idx")]
        assert db_channels == channels
        for frame in (frames[0], frames[len(frames) // 2], frames[-1]):
            t, values = conn.execute(
                "SELECT extract(epoch FROM t), value FROM frames WHERE seq = %s", (frame.seq,)
            ).fetchone()
            assert float(t) == pytest.approx(frame.t, abs=1e-6)
            for cid, value in zip(channels, values, strict=True):
                reading = frame.readings.get(cid)
                if reading is None or reading.value is None:
                    assert math.isnan(value)
                else:
                    assert value == reading.value
        # points: results and U as result.json has them
        doc = json.loads((run_dir / "result.json").read_text())
        rows = conn.execute(
            "SELECT point_id, status, cop, cop_u, capacity_u_w FROM points ORDER BY idx"
        ).fetchall()
        assert rows == [
            (
                p["id"],
                p["status"],
                p["results"]["cop"],
                p["uncertainty"]["cop"]["U"],
                p["uncertainty"]["capacity_w"]["U"],
            )
            for p in doc["points"]
        ]
        # the sealed JSON, whole per run and per point (the points' taken from the run's)
        assert [r for (r,) in conn.execute("SELECT result FROM points ORDER BY idx")] == doc[
            "points"
        ]
        package, result = conn.execute("SELECT package_sha256, result FROM runs").fetchone()
        assert result == doc
    assert before["events"] == len(store_rows(run_dir, "SELECT id FROM events"))

    assert package == hashlib.sha256((run_dir / "SHA256SUMS").read_bytes()).hexdigest()

    again = hpbench("lab", "sync", str(run_dir), "--db", lab_url)
    assert again.returncode == 0, again.stderr
    assert "already synced" in again.stdout
    assert table_counts(lab_url) == before


def test_a_tampered_package_is_refused_and_nothing_is_written(lab_url, run_copy):
    run_dir = run_copy("bench-a")
    doc = json.loads((run_dir / "result.json").read_text())
    doc["points"][0]["results"]["cop"] += 0.5  # a "better" COP
    (run_dir / "result.json").write_text(json.dumps(doc))
    done = hpbench("lab", "sync", str(run_dir), "--db", lab_url)
    assert done.returncode == 1
    assert "result.json: changed" in done.stderr and "does not verify" in done.stderr
    assert table_counts(lab_url)["runs"] == 0


def test_another_package_under_the_same_run_id_is_refused(lab_url, demo_runs, run_copy):
    assert hpbench("lab", "sync", str(demo_runs["bench-a"]), "--db", lab_url).returncode == 0
    other = run_copy("bench-a")
    conn = sqlite3.connect(other / "run.sqlite")
    with conn:
        conn.execute(
            "INSERT INTO events (t, seq, kind, message) VALUES (1.8e9, NULL, 'note', 'edited')"
        )
    conn.close()
    reseal(other)  # a valid package again, of an edited store
    before = table_counts(lab_url)
    done = hpbench("lab", "sync", str(other), "--db", lab_url)
    assert done.returncode == 1
    assert "holds another package under this run id" in done.stderr
    assert table_counts(lab_url) == before


def test_the_server_crashing_mid_copy_leaves_nothing_and_the_retry_lands_it(pg, lab_url, demo_runs):
    package = open_package(demo_runs["bench-b"])
    stopped = []

    def crash(copied: int) -> None:
        if not stopped:
            pg.stop("immediate")  # as a power cut: no checkpoint, the COPY cut off
            stopped.append(copied)

    with (
        pytest.raises(psycopg.OperationalError),
        psycopg.connect(lab_url, autocommit=True) as conn,
    ):
        sync_package(conn, package, batch=50, on_batch=crash)
    assert stopped == [50]
    pg.start()
    assert count(lab_url, "SELECT count(*) FROM runs") == 0
    assert count(lab_url, "SELECT count(*) FROM frames") == 0
    with psycopg.connect(lab_url, autocommit=True) as conn:
        outcome = sync_package(conn, package, batch=50)
    assert outcome.status == "synced"
    frames = store_rows(package.run_dir, "SELECT count(*), max(seq) FROM frames")[0]
    assert count(lab_url, "SELECT count(*) FROM frames") == frames[0]
    assert count(lab_url, "SELECT max(seq) FROM frames") == frames[1]


def test_sync_needs_a_schema_and_a_reachable_database(pg, run_copy):
    run_dir = run_copy("bench-a")
    bare = pg.create_database("bare")
    done = hpbench("lab", "sync", str(run_dir), "--db", bare)
    assert done.returncode == 2 and "no lab schema: run `hpbench lab init" in done.stderr
    done = hpbench("lab", "sync", str(run_dir), "--db", "postgresql://u@127.0.0.1:9/x")
    assert done.returncode == 2 and "cannot connect" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_events_with_tabs_newlines_and_backslashes_arrive_as_written(lab_url, run_copy):
    run_dir = run_copy("bench-b")
    nasty = "operator note:\tflow\\meter\r\nchecked \\N twice"
    data = json.dumps({"path": "C:\\bench\\x", "text": "a\tb\nc"})
    conn = sqlite3.connect(run_dir / "run.sqlite")
    with conn:
        conn.execute(
            "INSERT INTO events (t, seq, kind, message, data) VALUES (1.8e9, 3, 'note', ?, ?)",
            (nasty, data),
        )
    conn.close()
    reseal(run_dir)
    assert hpbench("lab", "sync", str(run_dir), "--db", lab_url).returncode == 0
    want = store_rows(run_dir, "SELECT id, seq, kind, message, data FROM events ORDER BY id")
    with psycopg.connect(lab_url) as db:
        got = db.execute("SELECT id, seq, kind, message, data FROM events ORDER BY id").fetchall()
    assert [(i, s, k, m, None if d is None else json.loads(d)) for i, s, k, m, d in want] == got
    assert got[-1][3] == nasty


def test_every_frame_lands_bit_for_bit_details_and_block_edges_included(lab_url, run_copy):
    """The column-block packing against the store's rows decoded independently (struct, json):
    every value (NaN included), quality and detail, with details on the first and last row
    of a block and across blocks."""
    run_dir = run_copy("bench-b")
    conn = sqlite3.connect(run_dir / "run.sqlite")
    with conn:
        (frames,) = conn.execute("SELECT count(*) FROM frames").fetchone()
        edited = {0, 6, 7, 8, 13, frames - 1}  # blocks of 7 below: first/last row of blocks
        for seq in edited:  # a channel absent (NaN, quality 255) and a detail text
            detail = json.dumps({"flow": f'stale «{seq}»\t\\ "quoted"\n'})
            value, quality = conn.execute(
                "SELECT value, quality FROM frames WHERE seq = ?", (seq,)
            ).fetchone()
            conn.execute(
                "UPDATE frames SET detail = ?, value = ?, quality = ? WHERE seq = ?",
                (detail, struct.pack("<d", math.nan) + value[8:], b"\xff" + quality[1:], seq),
            )
    stored = conn.execute("SELECT seq, t, value, quality, detail FROM frames ORDER BY seq")
    stored = stored.fetchall()
    conn.close()
    reseal(run_dir)
    with psycopg.connect(lab_url, autocommit=True) as db:
        assert sync_package(db, open_package(run_dir), batch=7).frames == frames
        landed = db.execute(
            "SELECT seq, extract(epoch FROM t), value, quality, detail FROM frames ORDER BY seq"
        ).fetchall()
    assert len(landed) == len(stored) == frames
    assert any(math.isnan(v) for row in landed for v in row[2])  # NaN is exercised
    for (seq, t, value, quality, detail), got in zip(stored, landed, strict=True):
        values = struct.unpack(f"<{len(value) // 8}d", value)
        assert got[0] == seq
        assert float(got[1]) == pytest.approx(t, abs=1e-6)
        assert [struct.pack("<d", v) for v in got[2]] == [struct.pack("<d", v) for v in values]
        assert got[3] == list(quality)
        assert got[4] == (None if detail is None else json.loads(detail))
    assert {row[0] for row in landed if row[4] is not None} >= edited


def test_two_syncs_of_one_run_at_once_land_it_once(lab_url, demo_runs):
    """The second sync's run row waits for the first's transaction; when that commits, the
    second reports "already synced" (not an error, nothing twice)."""
    package = open_package(demo_runs["bench-a"])
    second: dict[str, object] = {}

    def start_second(copied: int) -> None:
        if second:
            return
        with psycopg.connect(lab_url, autocommit=True) as watcher:
            thread = threading.Thread(
                target=lambda: second.update(outcome=sync_package(b, package))
            )
            second["thread"] = thread
            thread.start()
            pid = b.info.backend_pid
            deadline = time.monotonic() + 60
            while not watcher.execute(  # the second sync waits for our uncommitted run row
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the second sync never waited for the first"
                time.sleep(0.05)

    with (
        psycopg.connect(lab_url, autocommit=True) as a,
        psycopg.connect(lab_url, autocommit=True) as b,
    ):
        first = sync_package(a, package, batch=50, on_batch=start_second)
        second["thread"].join(120)  # type: ignore[attr-defined]
    assert first.status == "synced"
    assert str(second.get("outcome")).endswith(f"already synced ({first.frames} frames)")
    assert count(lab_url, "SELECT count(*) FROM runs") == 1
    assert count(lab_url, "SELECT count(*) FROM frames") == first.frames
