"""Real runs on the simulated bench, made once per session through `hpbench run`, for the
export tests to read. Tests that change a run work on a copy (`run_copy`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.station import sim_station_path

SPEED = 1500  # bench seconds per wall second: the EN 14825 plan is ~8 h of bench time
RANGE_W = 6000.0  # the WT310E range the station fixture declares: 300 V × 20 A

EN14511_PLAN = """
name: export_en14511
extends: en14511_rating
profile: en14511-3
standard: en14511
operator: tests
unit: {make: NIBE, model: S2125-12, serial: T-EXPORT-1, refrigerant: R290}
only: [A7W35]
defaults:
  timing: {equilibrium_min: 5, collection_min: 10, stabilise_timeout_min: 30, sample_s: 5}
points:
  # A2 at 83.9 % RH frosts the evaporator in about 40 min: with an hour to collect, the point
  # becomes a transient test integrated over whole defrost cycles
  - id: A2W35
    air: {dry_bulb_c: 2, wet_bulb_c: 1}
    water: {outlet_c: 35}
    timing: {collection_min: 60, stabilise_timeout_min: 300}
  # the timeout equals the equilibrium time, so the point can never hold it: a real failure
  - id: A12W35
    air: {dry_bulb_c: 12, wet_bulb_c: 11}
    water: {outlet_c: 35}
    timing: {stabilise_timeout_min: 5}
"""

# Every point A-F of the shipped plan, with short timings. E (TOL, -10 C) frosts: it becomes a
# transient test and needs time for whole defrost cycles, hence the long stabilisation limit.
EN14825_PLAN = """
name: export_en14825
extends: en14825_average_low_temp
profile: en14511-3
standard: en14825
climate: average
application: low
operator: tests
unit:
  make: NIBE
  model: S2125-12
  serial: T-EXPORT-2
  refrigerant: R290
  pdesignh_kw: 9.0
  tbiv_c: -7
  tol_c: -10
  aux_w: {poff: 10, pto: 20, psb: 10, pck: 0, source: "test declaration, not a real unit"}
defaults:
  timing: {equilibrium_min: 5, collection_min: 10, stabilise_timeout_min: 400, sample_s: 5}
"""


@dataclass(frozen=True)
class Run:
    dir: Path
    station: Path  # the station file the run used
    plan: Path


def full_station_text() -> str:
    """The shipped simulated station: it carries the power analyser's range the uncertainty
    needs (checked here, so a change to it shows up as a fixture failure, not odd results)."""
    text = sim_station_path().read_text(encoding="utf-8")
    assert re.search(rf"range_w = {RANGE_W:g}\b", text), "sim.toml lost range_w: update it"
    return text


def run_plan(tmp: Path, plan_text: str, station_text: str) -> Run:
    plan = tmp / "plan.yaml"
    plan.write_text(plan_text, encoding="utf-8")
    station = tmp / "station.toml"
    station.write_text(station_text, encoding="utf-8")
    results = tmp / "results"
    results.mkdir()
    cmd = [
        sys.executable,
        "-c",
        "import sys; from bench.cli import main; sys.exit(main())",
        "run",
        str(plan),
        "--sim",
        "--station",
        str(station),
        "--speed",
        str(SPEED),
        "--results",
        str(results),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-3000:] or done.stdout[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    assert (run_dir / "run.sqlite").is_file(), done.stdout[-2000:]
    return Run(run_dir, station, plan)


@pytest.fixture(scope="session")
def en14511_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_plan(tmp_path_factory.mktemp("en14511"), EN14511_PLAN, full_station_text())


@pytest.fixture(scope="session")
def en14825_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_plan(tmp_path_factory.mktemp("en14825"), EN14825_PLAN, full_station_text())


@pytest.fixture
def run_copy(tmp_path: Path, en14511_run: Run) -> Path:
    """A private copy of the EN 14511 run directory, to change at will."""
    target = tmp_path / en14511_run.dir.name
    shutil.copytree(en14511_run.dir, target)
    return target
