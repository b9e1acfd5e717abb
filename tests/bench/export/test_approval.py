"""`hpbench approve`: the approval is sealed with the package, signed when a key is given, shown
in the report; `verify` passes after it and fails after tampering with it."""

from __future__ import annotations

import datetime as dt
import io
import json

from bench.cli import main
from bench.export.approval import APPROVAL_NAME, approve_command
from bench.export.commands import verify_command
from bench.export.signing import generate_key
from bench.export.sums import digest, read_sums, write_sums

NOON = dt.datetime(2026, 12, 5, 12, 0, 0, tzinfo=dt.UTC)


def approve(run_dir, key=None, name="Dr. A. Prüfer", role="head of lab"):
    out, err = io.StringIO(), io.StringIO()
    code = approve_command(str(run_dir), name, role, key, out, err, now=NOON)
    return code, out.getvalue(), err.getvalue()


def verify(run_dir, *extra):
    out, err = io.StringIO(), io.StringIO()
    code = verify_command(str(run_dir), out, err, *extra)
    return code, out.getvalue()


def test_approve_records_who_and_when_seals_and_signs_it(run_copy, tmp_path):
    key = tmp_path / "lab.key"
    generate_key(key, tmp_path / "lab.key.pub")
    code, _out, err = approve(run_copy, key=str(key))
    assert code == 0, err
    record = json.loads((run_copy / APPROVAL_NAME).read_text(encoding="utf-8"))
    assert record["name"] == "Dr. A. Prüfer" and record["role"] == "head of lab"
    assert record["approved_utc"] == "2026-12-05T12:00:00Z"
    assert record["result_sha256"] == digest(run_copy / "result.json")
    listed, _ = read_sums(run_copy)
    assert listed[APPROVAL_NAME] == digest(run_copy / APPROVAL_NAME)
    html = (run_copy / "report.html").read_text(encoding="utf-8")
    assert "<td>Dr. A. Prüfer</td>" in html and "2026-12-05T12:00:00Z" in html
    assert "DRAFT" not in html
    assert verify(run_copy, str(tmp_path / "lab.key.pub"))[0] == 0
    # the report is made again from the same files: the same bytes
    before = (run_copy / "report.html").read_bytes()
    assert main(["report", str(run_copy)]) == 0
    assert (run_copy / "report.html").read_bytes() == before


def test_a_changed_approval_fails_verify(run_copy):
    assert approve(run_copy)[0] == 0
    path = run_copy / APPROVAL_NAME
    path.write_text(path.read_text(encoding="utf-8").replace("Prüfer", "Forger"), "utf-8")
    code, out = verify(run_copy)
    assert code == 1 and "approval.json: changed" in out


def test_an_approval_of_another_result_fails_verify_even_with_new_sums(run_copy):
    assert approve(run_copy)[0] == 0
    path = run_copy / APPROVAL_NAME
    record = json.loads(path.read_text(encoding="utf-8"))
    record["result_sha256"] = "0" * 64
    path.write_text(json.dumps(record), encoding="utf-8")
    listed, _ = read_sums(run_copy)
    write_sums(run_copy, listed)  # the sums made to match: the approval itself still fails
    code, out = verify(run_copy)
    assert code == 1 and "approval.json: approves another result.json" in out


def test_approve_refuses_a_second_approval_and_a_package_that_does_not_verify(run_copy):
    (run_copy / "points.csv").write_text("changed\n", encoding="utf-8")
    code, out, err = approve(run_copy)
    assert code == 1 and "points.csv: changed" in out and "not approved" in err
    assert not (run_copy / APPROVAL_NAME).exists()
    assert main(["report", str(run_copy)]) == 0
    assert approve(run_copy)[0] == 0
    code, _, err = approve(run_copy, name="Someone Else")
    assert code == 2 and "already approved by Dr. A. Prüfer" in err
