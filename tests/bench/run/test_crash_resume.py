"""`kill -9` in the middle of a run, then `hpbench run --resume`: nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.store import RunStore
from tests.bench.run.conftest import plan_text

POINTS = """
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
  - id: A12W35
    air: {dry_bulb_c: 12, wet_bulb_c: 11}
    water: {outlet_c: 35}
"""


def hpbench(*args: str, **kw) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def committed(db: Path, sql: str) -> int:
    """Ask the store from outside, as another process would: only committed rows count."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute(sql).fetchone()[0] or 0
    except sqlite3.Error:
        return 0


def test_kill_9_then_resume_keeps_every_acknowledged_frame(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_text(POINTS, name="crash"))
    results = tmp_path / "results"
    results.mkdir()
    proc = hpbench("run", str(plan), "--sim", "--speed", "200", "--results", str(results))
    try:
        deadline = time.monotonic() + 90
        db = None
        while time.monotonic() < deadline:
            found = list(results.glob("*/run.sqlite"))
            if found:
                db = found[0]
                # kill once the first point is finished and the second is under way
                if committed(db, "SELECT count(*) FROM points WHERE status = 'valid'") >= 1:
                    break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            raise AssertionError("the first point never finished")
        acknowledged = committed(db, "SELECT max(seq) FROM frames")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    run_dir = db.parent

    resumed = hpbench("run", "--resume", str(run_dir))
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert out.strip().splitlines()[-1] == str(run_dir)

    store = RunStore.open(run_dir)
    seqs = [f.seq for f in store.frames()]
    assert seqs == list(range(len(seqs)))  # continuous: nothing missing, nothing twice
    assert seqs[-1] > acknowledged  # every frame acknowledged before the kill, and more
    gaps = store.events({"gap"})
    assert len(gaps) == 1 and gaps[0].data["last_seq"] >= acknowledged
    statuses = {r.point_id: r.status for r in store.points()}
    assert statuses == {"A7W35": "valid", "A12W35": "valid"}
    assert any("resumed" in e.message for e in store.events({"run"}))
    assert store.meta()["outcome"] == "done"
    store.close()


def test_a_finished_run_is_not_resumed(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_text(POINTS.split("  - id: A12W35")[0], name="short", coll=5))
    results = tmp_path / "results"
    results.mkdir()
    first = hpbench("run", str(plan), "--sim", "--speed", "500", "--results", str(results))
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    again = hpbench("run", "--resume", out.strip().splitlines()[-1])
    _, err = again.communicate(timeout=60)
    assert again.returncode == 2
    assert "already ended (done)" in err and "Traceback" not in err
