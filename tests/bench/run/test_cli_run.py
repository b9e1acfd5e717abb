"""`hpbench run` and `hpbench validate` as a user meets them: messages and exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from bench.store import RunStore
from tests.bench.run.conftest import plan_text

A7 = """
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
"""


def hpbench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    return folder


def test_demo_plan_runs_and_prints_its_directory_last(results):
    done = hpbench(
        "run", "test_plans/demo.yaml", "--sim", "--speed", "400", "--results", str(results)
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(str(results)) and "_demo_" in last
    assert "A7W35" in done.stdout and "A2W35" in done.stdout and "COP" in done.stdout
    # plain lines when stdout is not a terminal: one per state change
    assert "setting -> stabilising" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "test_plans/demo.yaml", "--speed", "10", "--station", "x.toml"],
            "--speed needs --sim",
        ),
        (["run", "test_plans/demo.yaml"], "give --station FILE, or --sim"),
        (["run", "nope.yaml", "--sim"], "nope.yaml"),
        (["run", "test_plans/demo.yaml", "--station", "missing.toml"], "missing.toml: cannot read"),
        (["run", "test_plans/demo.yaml", "--station", "bench/stations/sim.toml"], "use --sim"),
        (["run", "--resume", "/nonexistent/run"], "/nonexistent/run"),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_2(args, message, results):
    done = hpbench(*args, "--results", str(results)) if "--resume" not in args else hpbench(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_results_directory_is_refused_before_the_run(tmp_path):
    done = hpbench("run", "test_plans/demo.yaml", "--sim", "--results", str(tmp_path / "no"))
    assert done.returncode == 2
    assert "results directory does not exist" in done.stderr


def test_failed_points_give_exit_1(tmp_path, results):
    plan = tmp_path / "p.yaml"
    # -20 C is 40 K from the chamber's 20 C start: at 1 K/min it cannot settle in 10 minutes
    cold = A7.replace("dry_bulb_c: 7, wet_bulb_c: 6", "dry_bulb_c: -20, rh_pct: 70")
    plan.write_text(plan_text(cold, timeout=10))
    done = hpbench("run", str(plan), "--sim", "--speed", "500", "--results", str(results))
    assert done.returncode == 1, done.stderr
    assert "failed" in done.stdout and "not stable within 10 min" in done.stdout


def test_sigterm_stops_into_the_safe_state_and_the_run_can_resume(tmp_path, results):
    plan = tmp_path / "p.yaml"
    plan.write_text(plan_text(A7, name="sig"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.cli",
            "run",
            str(plan),
            "--sim",
            "--speed",
            "100",
            "--results",
            str(results),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(results.glob("*/run.sqlite")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    run_dir = out.strip().splitlines()[-1]
    store = RunStore.open(run_dir)
    assert store.meta()["outcome"] == "interrupted"
    assert any("stopped by a signal" in e.message for e in store.events({"run"}))
    store.close()
    resumed = hpbench("run", "--resume", run_dir)
    assert resumed.returncode == 0, resumed.stderr


def test_validate_exit_codes(tmp_path):
    assert hpbench("validate", "test_plans/en14511_rating.yaml").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npoints: 3\n")
    done = hpbench("validate", str(bad))
    assert done.returncode == 2
    assert f"{bad}:" in done.stderr and "Traceback" not in done.stderr
