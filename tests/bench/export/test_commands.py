"""`hpbench report` and `hpbench verify` on a real run: exit codes and what they name."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3

import pytest

from bench.export.commands import RESULT_FILES, SEALED_FILES, report_command, verify_command
from bench.export.sums import write_sums


def call(command, run_dir) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = command(str(run_dir), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def reported(run_copy):
    code, out, err = call(report_command, run_copy)
    assert code == 0, err
    return run_copy, out


def test_report_writes_every_file_and_verify_accepts_them(reported):
    run_dir, out = reported
    assert out.splitlines() == [str(run_dir / n) for n in (*RESULT_FILES, "SHA256SUMS")]
    code, out, _ = call(verify_command, run_dir)
    assert code == 0 and "OK" in out


def test_report_regenerates_the_same_bytes(reported):
    run_dir, _ = reported
    before = {n: (run_dir / n).read_bytes() for n in (*RESULT_FILES, "SHA256SUMS")}
    assert call(report_command, run_dir)[0] == 0
    after = {n: (run_dir / n).read_bytes() for n in before}
    assert after == before


def test_one_changed_byte_in_result_json_fails_naming_it(reported):
    run_dir, _ = reported
    path = run_dir / "result.json"
    data = bytearray(path.read_bytes())
    i = data.index(b'"capacity_w": ') + len(b'"capacity_w": ')
    data[i] = ord("1") if data[i] != ord("1") else ord("2")  # still JSON, still the schema
    path.write_bytes(bytes(data))
    code, out, _ = call(verify_command, run_dir)
    assert code == 1
    assert out.splitlines()[0].startswith("result.json: changed")
    assert "FAILED" in out.splitlines()[-1]


def test_a_deleted_file_fails_naming_it(reported):
    run_dir, _ = reported
    (run_dir / "points.csv").unlink()
    code, out, _ = call(verify_command, run_dir)
    assert code == 1
    assert "points.csv: missing" in out


def test_a_schema_invalid_result_with_a_matching_sum_fails_on_the_schema(reported):
    run_dir, _ = reported
    doc = json.loads((run_dir / "result.json").read_text())
    doc["points"][0]["status"] = "excellent"
    del doc["bench"]
    (run_dir / "result.json").write_text(json.dumps(doc))
    write_sums(run_dir, SEALED_FILES)  # the digests are right: only the schema can tell
    code, out, _ = call(verify_command, run_dir)
    assert code == 1
    lines = out.splitlines()
    assert any(x.startswith("result.json: schema: points/0/status:") for x in lines)
    assert any(x.startswith("result.json: schema: (top):") and "'bench'" in x for x in lines)
    assert not any("changed" in x for x in lines)


def test_a_result_that_is_not_json_is_named(reported):
    run_dir, _ = reported
    (run_dir / "result.json").write_text("{not json")
    write_sums(run_dir, SEALED_FILES)
    code, out, _ = call(verify_command, run_dir)
    assert code == 1 and "result.json: not JSON" in out


def test_bad_input_exits_2(tmp_path):
    code, _, err = call(report_command, tmp_path / "nope")
    assert code == 2 and "no such run directory" in err
    code, _, err = call(report_command, tmp_path)
    assert code == 2 and "no run.sqlite" in err
    code, _, err = call(verify_command, tmp_path / "nope")
    assert code == 2 and "no such run directory" in err
    code, _, err = call(verify_command, tmp_path)
    assert code == 2 and "hpbench report" in err


def test_report_on_a_corrupt_store_exits_2(tmp_path):
    (tmp_path / "run.sqlite").write_bytes(b"this is not a database" * 100)
    code, _, err = call(report_command, tmp_path)
    assert code == 2 and "run.sqlite" in err


def test_one_value_changed_in_run_sqlite_fails_verify_and_report_refuses(reported):
    """Issue 13 item 6: the raw data is sealed; an edited store neither verifies nor is
    silently re-sealed by `report`."""
    run_dir, _ = reported
    sums = (run_dir / "SHA256SUMS").read_text()
    assert "  run.sqlite\n" in sums
    conn = sqlite3.connect(run_dir / "run.sqlite")
    changed = conn.execute("UPDATE meta SET value = '\"tampered\"' WHERE key = 'plan_path'")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert changed.rowcount == 1
    code, out, _ = call(verify_command, run_dir)
    assert code == 1
    assert out.splitlines()[0].startswith("run.sqlite: changed")
    code, _, err = call(report_command, run_dir)
    assert code == 1 and "changed since the run sealed it" in err
    assert (run_dir / "SHA256SUMS").read_text() == sums


def test_result_json_is_the_same_in_a_renamed_copy(reported, tmp_path):
    run_dir, _ = reported
    other = tmp_path / "somewhere" / "renamed-run"
    shutil.copytree(run_dir, other)
    assert call(report_command, other)[0] == 0
    assert (other / "result.json").read_bytes() == (run_dir / "result.json").read_bytes()
    assert call(verify_command, other)[0] == 0


def test_report_beside_a_run_without_a_result_exits_2_and_writes_nothing(reported, tmp_path):
    run_dir, _ = reported
    before = {n: (run_dir / n).read_bytes() for n in (*RESULT_FILES, "SHA256SUMS")}
    out, err = io.StringIO(), io.StringIO()
    assert report_command(str(run_dir), out, err, beside=str(tmp_path)) == 2
    assert f"{tmp_path}: no readable result.json" in err.getvalue()
    assert {n: (run_dir / n).read_bytes() for n in before} == before
    out, err = io.StringIO(), io.StringIO()  # beside a run that has one: the report is made
    assert report_command(str(run_dir), out, err, beside=str(run_dir)) == 0, err.getvalue()
