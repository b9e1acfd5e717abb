"""Result files fuzzed: whatever happens to result.json, SHA256SUMS, the signature or the other
files of a run, `hpbench verify` answers 0 (only when nothing changed), 1 (naming what fails)
or 2 (nothing to verify) - never a traceback - and `hpbench report` writes them all again."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.export import report_command, verify_command
from tests.bench.export.conftest import Run
from tests.fuzzing import FUZZ, mutated_bytes

FILES = ["result.json", "SHA256SUMS", "points.csv", "samples.csv", "datasheet.csv", "report.html"]


@pytest.fixture(scope="module")
def pristine(en14511_run: Run) -> dict[str, bytes]:
    return {name: (en14511_run.dir / name).read_bytes() for name in FILES}


def verify(run_dir: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = verify_command(str(run_dir), out, err)
    return code, out.getvalue() + err.getvalue()


@pytest.mark.timeout(600)  # each example rewrites every result file: minutes on a busy machine
@FUZZ
@given(data=st.data())
def test_a_changed_result_file_never_verifies_and_never_crashes(
    data: st.DataObject, en14511_run: Run, pristine: dict[str, bytes], tmp_path_factory
) -> None:
    run_dir = tmp_path_factory.mktemp("fuzzed") / en14511_run.dir.name
    shutil.copytree(en14511_run.dir, run_dir)
    name = data.draw(st.sampled_from(FILES))
    action = data.draw(st.sampled_from(["mutate", "delete", "empty"]))
    if action == "delete":
        (run_dir / name).unlink()
    elif action == "empty":
        (run_dir / name).write_bytes(b"")
    else:
        (run_dir / name).write_bytes(data.draw(mutated_bytes(pristine[name])))
    changed = (run_dir / name).exists() and (run_dir / name).read_bytes() != pristine[name]
    code, text = verify(run_dir)
    assert "Traceback" not in text
    if changed or action == "delete":
        assert code == 1, text
        assert name in text or "SHA256SUMS" in text
    else:
        assert code == 0, text
    # the store is untouched, so everything can be written again, and then verifies; a
    # mangled SHA256SUMS may name another digest for run.sqlite: report then refuses to
    # re-seal (it cannot tell which changed) until the damaged sums file is removed
    code = report_command(str(run_dir), io.StringIO(), io.StringIO())
    if code == 1:
        assert name == "SHA256SUMS"
        (run_dir / name).unlink()
        code = report_command(str(run_dir), io.StringIO(), io.StringIO())
    assert code == 0
    assert verify(run_dir)[0] == 0
    shutil.rmtree(run_dir.parent)
