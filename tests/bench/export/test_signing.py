"""Signed result files: a key named in the station signs SHA256SUMS; `hpbench verify
--public-key` accepts them and rejects a changed SHA256SUMS or another key."""

from __future__ import annotations

import subprocess
import sys

from tests.bench.export.conftest import EN14511_PLAN, full_station_text, run_plan


def hpbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_signed_results_verify_and_a_forged_sums_file_does_not(tmp_path):
    key = tmp_path / "bench.key"
    assert hpbench("keygen", str(key)).returncode == 0
    assert (key.stat().st_mode & 0o777) == 0o600
    assert hpbench("keygen", str(key)).returncode == 2  # never overwrites a key
    station = full_station_text() + f'\n[signing]\nkey_file = "{key}"\n'
    (tmp_path / "run").mkdir()
    run = run_plan(tmp_path / "run", EN14511_PLAN, station)
    assert (run.dir / "SHA256SUMS.sig").exists()

    good = hpbench("verify", str(run.dir), "--public-key", f"{key}.pub")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "signed by that key" in good.stdout

    other = tmp_path / "other.key"
    hpbench("keygen", str(other))
    wrong = hpbench("verify", str(run.dir), "--public-key", f"{other}.pub")
    assert wrong.returncode == 1 and "does not match" in wrong.stdout

    # someone changes a result and rewrites SHA256SUMS to match: the sums pass, the
    # signature does not
    result = run.dir / "result.json"
    result.write_text(result.read_text().replace('"valid"', '"invalid"', 1))
    sums = subprocess.run(
        ["sha256sum", "result.json", "points.csv", "samples.csv", "datasheet.csv", "report.html"],
        cwd=run.dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (run.dir / "SHA256SUMS").write_text(sums)
    forged = hpbench("verify", str(run.dir), "--public-key", f"{key}.pub")
    assert forged.returncode == 1
    assert "SHA256SUMS.sig: does not match" in forged.stdout
