"""The outbox: a run's end enqueues its sync and never waits on the database; a database that
is down is retried with a doubling back-off, then marked failed; `hpbench lab sync --outbox`
drains what is left; `hpbench lab status` shows it all."""

from __future__ import annotations

import json
import time

import pytest

from bench.lab import outbox
from bench.lab.config import LabSettings
from bench.station import StationError, parse_station
from tests.bench.lab.conftest import SIM_STATION, count, hpbench

DOWN = "postgresql://hpbench@127.0.0.1:9/lab"  # nothing listens on port 9


def test_a_database_that_is_down_backs_off_doubling_then_fails(run_copy):
    run_dir = run_copy("bench-a")
    settings = LabSettings(database=DOWN, retry_initial_s=10, retry_max_s=25, max_attempts=4)
    entry = outbox.enqueue(run_dir, settings)
    box = outbox.outbox_of(run_dir.parent)
    waits = []
    for _ in range(4):
        for e in outbox.entries(box):  # make it due now
            e.next_attempt = 0
            outbox.save(box, e)
        before = time.time()
        (tried,) = outbox.drain(box, log=lambda line: None)
        assert "OperationalError" in tried.last_error
        waits.append(tried.next_attempt - before)
    (final,) = outbox.entries(box)
    assert final.name == entry.name and final.state == outbox.FAILED and final.attempts == 4
    # 10, 20, then capped at 25 s (± 20 % jitter); the fourth attempt gave up
    assert 8 <= waits[0] <= 12.1 and 16 <= waits[1] <= 24.1 and 20 <= waits[2] <= 30.1
    status = json.loads(hpbench("lab", "status", "--results", str(run_dir.parent), "--json").stdout)
    assert [(s["run"], s["state"], s["attempts"]) for s in status] == [(entry.name, "failed", 4)]
    assert "cannot be reached" not in status[0]["detail"] and status[0]["detail"]


def test_sync_outbox_drains_failed_and_waiting_entries_once_the_database_is_back(lab_url, run_copy):
    run_dir = run_copy("bench-b")
    box = outbox.outbox_of(run_dir.parent)
    entry = outbox.enqueue(run_dir, LabSettings(database=lab_url, retry_initial_s=600))
    entry.state, entry.attempts, entry.next_attempt = outbox.PENDING, 3, time.time() + 600
    outbox.save(box, entry)
    done = hpbench("lab", "sync", "--outbox", "--results", str(run_dir.parent))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{run_dir.name}: done: run " in done.stdout
    assert count(lab_url, "SELECT count(*) FROM runs") == 1
    table = hpbench("lab", "status", "--results", str(run_dir.parent)).stdout
    assert "done" in table and run_dir.name in table


def test_the_hook_never_raises_and_never_blocks(tmp_path, capsys):
    results = tmp_path / "results"
    results.write_text("a file where the results dir should be: nothing can be written")
    run_dir = results / "2026-01-01_demo_abcdef"
    outbox.after_run(run_dir, LabSettings(database=DOWN))
    err = capsys.readouterr().err
    assert "lab: sync not queued" in err and f"run `hpbench lab sync {run_dir}`" in err
    outbox.after_run(tmp_path / "r" / "run", None)  # no [lab]: nothing at all
    assert not (tmp_path / "r").exists()


def test_station_lab_table_refuses_a_password_in_the_url_with_file_and_line(tmp_path):
    text = SIM_STATION.read_text() + '\n[lab]\ndatabase = "postgresql://u:pw@db/lab"\n'
    with pytest.raises(StationError) as err:
        parse_station(text, "lab.toml")
    message = str(err.value)
    assert message.startswith("lab.toml:") and "no password in the URL" in message
    assert "pw" not in message.replace("password", "")
    ok = parse_station(
        SIM_STATION.read_text() + '\n[lab]\ndatabase = "postgresql://u@db/lab"\n', "lab.toml"
    )
    assert ok.lab is not None and ok.lab.database == "postgresql://u@db/lab"
