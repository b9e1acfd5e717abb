"""SHA256SUMS (checked also by coreutils' sha256sum) and atomic writes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

from bench.export import atomic
from bench.export.sums import SUMS_NAME, check_sums, read_sums, write_sums

FILES = {"result.json": b'{"a": 1}\n', "points.csv": b"x,y\r\n1,2\r\n", "report.html": b"<p>"}


@pytest.fixture
def run_dir(tmp_path):
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    write_sums(tmp_path, FILES)
    return tmp_path


def test_the_sums_are_sha256_in_sha256sum_format(run_dir):
    lines = (run_dir / SUMS_NAME).read_text().splitlines()
    assert lines == [f"{hashlib.sha256(FILES[name]).hexdigest()}  {name}" for name in sorted(FILES)]
    assert check_sums(run_dir, FILES) == []


def test_coreutils_sha256sum_accepts_the_file(run_dir):
    assert shutil.which("sha256sum"), "coreutils' sha256sum is the independent checker here"
    done = subprocess.run(["sha256sum", "-c", SUMS_NAME], cwd=run_dir, capture_output=True)
    assert done.returncode == 0, done.stdout


def test_one_changed_byte_is_named(run_dir):
    data = bytearray((run_dir / "points.csv").read_bytes())
    data[3] ^= 0x01
    (run_dir / "points.csv").write_bytes(bytes(data))
    problems = check_sums(run_dir, FILES)
    assert [(p.file, p.problem.split(":")[0]) for p in problems] == [("points.csv", "changed")]


def test_a_missing_file_and_an_unlisted_one_are_named(run_dir):
    (run_dir / "report.html").unlink()
    problems = {p.file: p.problem for p in check_sums(run_dir, [*FILES, "samples.csv"])}
    assert problems["report.html"].startswith("missing")
    assert "not listed" in problems["samples.csv"]


def test_a_missing_or_malformed_sums_file(run_dir):
    text = (run_dir / SUMS_NAME).read_text()
    (run_dir / SUMS_NAME).write_text(text + "not a line\n")
    listed, problems = read_sums(run_dir)
    assert len(listed) == 3 and "line 4" in str(problems[0])
    (run_dir / SUMS_NAME).unlink()
    assert [str(p) for p in check_sums(run_dir, FILES)] == ["SHA256SUMS: missing"]


def test_a_listed_path_outside_the_directory_is_refused(run_dir):
    digest = hashlib.sha256(b"").hexdigest()
    (run_dir / SUMS_NAME).write_text(f"{digest}  ../etc/passwd\n")
    _, problems = read_sums(run_dir)
    assert "is not a file here" in str(problems[0])


def test_atomic_write_replaces_whole(tmp_path):
    path = tmp_path / "result.json"
    atomic.write_text(path, "old\n")
    atomic.write_text(path, "new ✓\n")
    assert path.read_text(encoding="utf-8") == "new ✓\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    atomic.write_text(path, "old\n")

    def no_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="No space"):
        atomic.write_text(path, "half")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
