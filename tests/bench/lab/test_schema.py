"""`hpbench lab init`: the numbered migrations once each, whatever how often it runs; frames
partitioned by time (native range partitions on a server without TimescaleDB)."""

from __future__ import annotations

from bench.lab.schema import migrations
from tests.bench.lab.conftest import count, hpbench


def test_init_is_idempotent_and_frames_are_range_partitioned(lab_url):
    again = hpbench("lab", "init", "--db", lab_url)
    assert again.returncode == 0
    assert "nothing to apply" in again.stdout and "native partitioning" in again.stdout
    assert count(lab_url, "SELECT count(*) FROM schema_version") == len(migrations())
    assert migrations()[0].name == "0001_runs.sql"
    # 0002: result.json (whole and per point) compressed with lz4 (Debian's server has it)
    assert (
        count(
            lab_url,
            "SELECT count(*) FROM pg_attribute WHERE attname = 'result' AND attcompression = 'l'"
            " AND attrelid IN ('runs'::regclass, 'points'::regclass)",
        )
        == 2
    )
    assert (
        count(
            lab_url,
            "SELECT count(*) FROM pg_partitioned_table p JOIN pg_attribute a"
            " ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
            " WHERE p.partrelid = 'frames'::regclass AND p.partstrat = 'r' AND a.attname = 't'",
        )
        == 1
    )


def test_init_names_an_unreachable_database_in_one_line():
    done = hpbench("lab", "init", "--db", "postgresql://u@127.0.0.1:9/lab")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("hpbench lab init: postgresql://u@127.0.0.1:9/lab: cannot connect")
