"""The run store on real SQLite files: round trips, a real kill -9, write failures that surface,
and writes that never wait on the disk."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.run.frame import Frame, FrameLayout
from bench.store import STORE_NAME, PointRow, RunStore, StoreError
from instruments.base import Identity, Quality, Reading

REPO = Path(__file__).resolve().parents[2]
CHANNELS = {
    "hydraulic_module.flow": "m3/h",
    "hydraulic_module.t_in": "degC",
    "power_analyser.p": "W",
    "heat_pump.alarm": "",
}


def make_store(directory: Path, **options) -> RunStore:
    return RunStore.create(
        directory / "run" / STORE_NAME,
        run_id="r1",
        plan_name="demo",
        plan_text="name: demo\npoints: []\n",
        station_text='[station]\nname = "lab"\n',
        channels=CHANNELS,
        **options,
    )


def ok_frame(seq: int) -> Frame:
    readings = {
        cid: Reading.ok(seq + i / 8, unit) for i, (cid, unit) in enumerate(CHANNELS.items())
    }
    return Frame(seq, 1_800_000_000.0 + seq / 10, readings)


def run_child(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- round trips -------------------------------------------------------------------------


def test_frames_round_trip_with_every_quality(tmp_path):
    flow, t_in, power, alarm = CHANNELS
    frames = [
        ok_frame(0),
        Frame(
            1,
            1_800_000_000.1,
            {
                flow: Reading.ok(1.25, "m3/h").stale("no answer for 3 s"),
                t_in: Reading.invalid("degC", "sensor over range"),
                power: Reading(None, "W", Quality.STALE, "never read"),
                alarm: Reading.ok(0.0, ""),
            },
        ),
        Frame(2, 1_800_000_000.2, {flow: Reading.ok(1.5, "m3/h")}),  # the others absent
        ok_frame(3),
    ]
    with make_store(tmp_path) as store:
        for frame in frames:
            store.append(frame)
        store.flush_sync()
        assert list(store.frames()) == frames
        assert store.channels() == CHANNELS
        assert store.last_seq() == store.acknowledged_seq == 3


def test_frames_packed_in_the_runs_channel_order_are_inserted_as_they_are(tmp_path, monkeypatch):
    flow, t_in, power, alarm = CHANNELS
    stale = {**ok_frame(1).readings, t_in: Reading.invalid("degC", "sensor over range")}
    frames = [FrameLayout(CHANNELS).frame(0, 1.0, ok_frame(0).readings)]
    frames.append(FrameLayout(CHANNELS).frame(1, 2.0, stale))  # a layout object of its own
    reordered = FrameLayout([alarm, power, t_in, flow]).frame(2, 3.0, ok_frame(2).readings)
    assert all(f.row is not None for f in [*frames, reordered])

    def repacked(*args):
        raise AssertionError("the store packed a frame that came packed")

    with make_store(tmp_path) as store:
        monkeypatch.setattr(FrameLayout, "row", repacked)
        for frame in frames:
            store.append(frame)
        monkeypatch.undo()  # a row in another channel order is packed again, in the run's
        store.append(reordered)
        store.flush_sync()
        assert list(store.frames()) == [*frames, reordered]


def test_ok_detail_is_dropped_other_details_are_kept(tmp_path):
    flow = next(iter(CHANNELS))
    frame = ok_frame(0)
    readings = dict(frame.readings)
    readings[flow] = Reading(1.0, "m3/h", Quality.OK, "nothing to say")
    with make_store(tmp_path) as store:
        store.append(Frame(0, 0.0, readings))
        store.flush_sync()
        (back,) = store.frames()
    assert back.readings[flow] == Reading(1.0, "m3/h")


def test_frames_range_and_chunks(tmp_path):
    with make_store(tmp_path) as store:
        for seq in range(10):
            store.append(ok_frame(seq))
        store.flush_sync()
        assert [f.seq for f in store.frames(3, 7, chunk=2)] == [3, 4, 5, 6, 7]
        assert [f.seq for f in store.frames(8, chunk=3)] == [8, 9]
        assert list(store.frames(11)) == []


def test_gaps_are_the_missing_seq_ranges(tmp_path):
    with make_store(tmp_path) as store:
        assert store.gaps() == []
        for seq in (2, 3, 6, 7, 10):
            store.append(ok_frame(seq))
        store.flush_sync()
        assert store.gaps() == [(0, 1), (4, 5), (8, 9)]


def test_events_round_trip_and_filter(tmp_path):
    with make_store(tmp_path) as store:
        store.event(10.0, "state", "SET -> STABILISE", {"point": "A7W35"}, seq=100)
        store.event(11.0, "operator", "pause")
        store.event(12.0, "gap", "frames 101..103 missing", {"first": 101, "last": 103})
        store.flush_sync()
        events = store.events()
        assert [(e.t, e.seq, e.kind, e.message, e.data) for e in events] == [
            (10.0, 100, "state", "SET -> STABILISE", {"point": "A7W35"}),
            (11.0, None, "operator", "pause", None),
            (12.0, None, "gap", "frames 101..103 missing", {"first": 101, "last": 103}),
        ]
        assert [e.kind for e in store.events({"gap", "state"})] == ["state", "gap"]


def test_points_upsert_keeps_the_last_state(tmp_path):
    with make_store(tmp_path) as store:
        store.put_point(0, "A7W35", "pending", {})
        store.put_point(1, "A2W35", "pending", {})
        store.put_point(0, "A7W35", "running", {}, started=100.0)
        store.flush_sync()
        store.put_point(
            0, "A7W35", "valid", {"cop": 4.1}, started=100.0, ended=900.0, first_seq=10, last_seq=90
        )
        store.put_point(1, "A2W35", "failed", {"why": "chamber"}, started=900.0, ended=950.0)
        store.flush_sync()
        assert store.points() == [
            PointRow(0, "A7W35", "valid", 100.0, 900.0, 10, 90, {"cop": 4.1}),
            PointRow(1, "A2W35", "failed", 900.0, 950.0, None, None, {"why": "chamber"}),
        ]


def test_snapshots_keep_every_reconnection(tmp_path):
    wt = Identity("YOKOGAWA", "WT310E", "C2PH13047V", "F1.03")
    with make_store(tmp_path) as store:
        store.snapshot(1.0, "power_analyser", wt, {"update_s": 0.5})
        store.snapshot(2.0, "heat_pump", {"make": "NIBE", "model": "S2125-12"}, {"unit_id": 1})
        store.snapshot(3.0, "power_analyser", wt, {"update_s": 1.0})
        store.flush_sync()
        pa = store.snapshots("power_analyser")
        assert [(s.t, s.identity, s.settings) for s in pa] == [
            (1.0, wt, {"update_s": 0.5}),
            (3.0, wt, {"update_s": 1.0}),
        ]
        (hp,) = store.snapshots("heat_pump")
        assert hp.identity == Identity("NIBE", "S2125-12", "", "")


def test_meta_holds_the_run_and_its_settings(tmp_path):
    with make_store(tmp_path) as store:
        store.put_meta("speed", 60)
        store.put_meta("operator", {"name": "kim"})
        store.flush_sync()
        meta = store.meta()
    assert meta["run_id"] == "r1"
    assert meta["plan_name"] == "demo"
    assert meta["plan_text"].startswith("name: demo")
    assert meta["station_text"].startswith("[station]")
    assert meta["hpbench_version"]
    assert meta["created"].endswith("+00:00")
    assert meta["frame_format"]["quality"]["255"] == "absent"
    assert meta["speed"] == 60 and meta["operator"] == {"name": "kim"}


# -- what the store refuses, and says so -------------------------------------------------


def test_rows_that_cannot_be_stored_are_refused_at_the_call(tmp_path):
    with make_store(tmp_path) as store:
        store.append(ok_frame(5))
        with pytest.raises(ValueError, match="not increasing"):
            store.append(ok_frame(5))
        bad = Frame(6, 0.0, {**ok_frame(6).readings, "chamber.t_air": Reading.ok(7.0, "degC")})
        with pytest.raises(ValueError, match=r"chamber\.t_air"):
            store.append(bad)
        with pytest.raises(ValueError, match="status"):
            store.put_point(0, "A7W35", "finished", {})
        with pytest.raises(ValueError, match="run_id"):
            store.put_meta("run_id", "other")
        store.append(ok_frame(6))  # the store is fine after a refusal
        store.flush_sync()
        assert store.last_seq() == 6


def test_create_and_open_name_the_file_when_they_fail(tmp_path):
    store = make_store(tmp_path)
    store.close()
    with pytest.raises(StoreError, match="already exists") as info:
        make_store(tmp_path)
    assert str(store.path) in str(info.value)
    missing = tmp_path / "nowhere" / STORE_NAME
    with pytest.raises(StoreError, match="cannot open") as info:
        RunStore.open(missing)
    assert str(missing) in str(info.value)
    assert not missing.exists()  # opening never creates an empty store


# -- resume, and reading a finished run --------------------------------------------------


def test_open_continues_after_the_last_frame(tmp_path):
    with make_store(tmp_path) as store:
        for seq in range(5):
            store.append(ok_frame(seq))
    with RunStore.open(store.path.parent) as resumed:  # the run directory will do
        assert resumed.last_seq() == resumed.acknowledged_seq == 4
        with pytest.raises(ValueError):
            resumed.append(ok_frame(4))
        resumed.append(ok_frame(5))
        resumed.event(5.0, "state", "resumed")
        resumed.flush_sync()
    with RunStore.open(store.path) as report:
        assert [f.seq for f in report.frames()] == list(range(6))
        assert report.gaps() == []


def test_readers_work_after_close(tmp_path):
    store = make_store(tmp_path)
    store.append(ok_frame(0))
    store.close()
    assert [f.seq for f in store.frames()] == [0]
    with pytest.raises(StoreError, match="closed"):
        store.append(ok_frame(1))


# -- never waiting on the disk -----------------------------------------------------------


def test_acknowledged_seq_lags_until_flush(tmp_path):
    with make_store(tmp_path, flush_interval_s=60) as store:
        for seq in range(10):
            store.append(ok_frame(seq))
        assert store.acknowledged_seq == -1  # queued, returned, not yet committed
        store.flush_sync()
        assert store.acknowledged_seq == 9


async def test_append_and_flush_do_not_wait_for_a_locked_database(tmp_path):
    store = make_store(tmp_path)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        for seq in range(100):
            store.append(ok_frame(seq))
        flushing = asyncio.create_task(store.flush())
        for _ in range(20):
            await asyncio.sleep(0)  # the loop goes on while the writer waits
        assert not flushing.done()
        assert store.acknowledged_seq == -1
    finally:
        blocker.rollback()
        blocker.close()
    await flushing
    assert store.acknowledged_seq == 99
    store.close()


# -- failures surface, nothing is dropped ------------------------------------------------


def test_a_write_failure_surfaces_then_recovers_without_loss(tmp_path):
    store = make_store(tmp_path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    for seq in range(5):
        store.append(ok_frame(seq))
    with pytest.raises(StoreError, match="locked") as info:
        store.flush_sync()
    assert str(store.path) in str(info.value)
    assert store.error is not None and store.acknowledged_seq == -1
    store.append(ok_frame(5))  # still accepted, queued behind the failed batch
    blocker.rollback()
    blocker.close()
    store.flush_sync()
    assert store.error is None and store.acknowledged_seq == 5
    assert [f.seq for f in store.frames()] == list(range(6))
    store.close()


def test_a_replaced_file_is_an_error_not_a_silent_loss(tmp_path):
    store = make_store(tmp_path)
    store.append(ok_frame(0))
    store.flush_sync()
    impostor = tmp_path / "impostor.sqlite"
    impostor.write_bytes(b"")
    os.replace(impostor, store.path)
    store.append(ok_frame(1))
    with pytest.raises(StoreError, match="moved, replaced or deleted"):
        store.flush_sync()
    assert store.error is not None
    with pytest.raises(StoreError, match="1 items not written"):
        store.close()


DISK_FULL = """
    import json, resource, signal, sys
    from pathlib import Path
    from bench.run.frame import Frame, FrameLayout
    from bench.store import RunStore, StoreError
    from instruments.base import Reading

    path = Path(sys.argv[1])
    channels = {f"ch{i}": "unit" for i in range(40)}
    def frame(seq):
        return Frame(seq, float(seq), {c: Reading.ok(seq + i / 100, "unit")
                                       for i, c in enumerate(channels)})

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    store = RunStore.create(path, run_id="full", plan_name="", plan_text="", station_text="",
                            channels=channels, retry_interval_s=0.05)
    for seq in range(10):
        store.append(frame(seq))
    store.flush_sync()
    files = [p for p in path.parent.iterdir() if p.is_file()]
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max(p.stat().st_size for p in files) + 8192, hard))
    for seq in range(10, 2010):
        store.append(frame(seq))
    out = {}
    try:
        store.flush_sync()
    except StoreError as exc:
        out["raised"] = str(exc)
    out["error"] = str(store.error)
    out["acknowledged_while_full"] = store.acknowledged_seq
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space is freed
    store.flush_sync()
    out["acknowledged_after"] = store.acknowledged_seq
    store.close()
    print(json.dumps(out))
"""


def test_disk_full_surfaces_and_the_queued_frames_survive_it(tmp_path):
    path = tmp_path / "run" / STORE_NAME
    child = run_child(DISK_FULL, str(path))
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr
    out = json.loads(stdout)
    assert str(path) in out["raised"] and "cannot write" in out["raised"]
    assert out["error"] != "None"
    assert out["acknowledged_while_full"] == 9
    assert out["acknowledged_after"] == 2009
    with RunStore.open(path) as store:
        frames = list(store.frames())
        assert [f.seq for f in frames] == list(range(2010))
        assert frames[1234].readings["ch7"].value == 1234.07


# -- a real kill -9 ----------------------------------------------------------------------

WRITE_FOREVER = """
    import sys
    from pathlib import Path
    from bench.run.frame import Frame, FrameLayout
    from bench.store import RunStore
    from instruments.base import Reading

    channels = {f"ch{i}": "unit" for i in range(40)}
    store = RunStore.create(Path(sys.argv[1]), run_id="kill", plan_name="", plan_text="",
                            station_text="", channels=channels, flush_interval_s=0.005)
    seq = 0
    while True:
        for _ in range(100):
            store.append(Frame(seq, float(seq), {c: Reading.ok(seq + i / 100, "unit")
                                                 for i, c in enumerate(channels)}))
            seq += 1
        store.flush_sync()
        print(store.acknowledged_seq, flush=True)
"""


def test_every_acknowledged_frame_survives_kill_9(tmp_path):
    path = tmp_path / "run" / STORE_NAME
    child = run_child(WRITE_FOREVER, str(path))
    try:
        acknowledged = [int(child.stdout.readline()) for _ in range(30)]
    finally:
        child.send_signal(signal.SIGKILL)
        rest, stderr = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, stderr
    acknowledged += [int(line) for line in rest.splitlines(keepends=True) if line.endswith("\n")]
    last_acknowledged = acknowledged[-1]
    assert (path.parent / f"{STORE_NAME}-wal").exists()  # killed with its WAL open

    with RunStore.open(path) as store:
        last = store.last_seq()
        assert last >= last_acknowledged
        frames = list(store.frames())
        assert [f.seq for f in frames] == list(range(last + 1))
        assert store.gaps() == []
        assert all(f.readings["ch39"].value == f.seq + 0.39 for f in frames)
        store.append(Frame(last + 1, float(last + 1), frames[0].readings))
        store.flush_sync()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()
    with RunStore.open(path) as store:
        assert store.last_seq() == last + 1
        assert store.meta()["run_id"] == "kill"
