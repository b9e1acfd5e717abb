"""Issue 12's first acceptance line: a station with two analysers (one three-phase, its Σ
used), a separate data logger for the water temperatures and a separate flow meter runs
`test_plans/demo.yaml` on the simulated bench, and result.json lists each part of the power
and each instrument's identity and calibration."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.bench.run.test_cli_run import hpbench

STATION = Path("bench/stations/sim_lab.toml")


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    results = tmp_path_factory.mktemp("results")
    done = hpbench(
        "run", "test_plans/demo.yaml", "--sim", "--speed", "300",
        "--station", str(STATION), "--results", str(results), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    return json.loads((run_dir / "result.json").read_text(encoding="utf-8"))


def test_every_point_is_valid_with_power_from_both_analysers(result):
    assert [p["status"] for p in result["points"]] == ["valid", "valid"]
    for point in result["points"]:
        parts = {p["channel"]: p for p in point["power_parts"]}
        assert set(parts) == {"pa_odu.P_sigma", "pa_idu.P"}
        assert parts["pa_odu.P_sigma"]["instrument"] == "pa_odu"
        # the Σ of a 3P4W system: three elements, each with the range it was measured on
        odu_range = parts["pa_odu.P_sigma"]["range"]
        assert [e["voltage"] for e in odu_range["elements"]] == [
            "pa_odu.Urange1",
            "pa_odu.Urange2",
            "pa_odu.Urange3",
        ]
        assert not odu_range["declared"]
        assert odu_range["power_w"] == pytest.approx(
            sum(e["voltage_v"] * e["current_a"] for e in odu_range["elements"])
        )
        # the point's power is the sum of its parts (mean of sums = sum of means)
        total = sum(p["mean_w"] for p in parts.values())
        assert point["results"]["power_raw_w"] == pytest.approx(total, rel=1e-9)
        # each analyser's own Type B, shares of the combined variance (decision 0281)
        assert all(p["u_w"] > 0 for p in parts.values())
        assert sum(p["u_share"] for p in parts.values()) == pytest.approx(1.0)


def test_the_water_side_is_measured_by_the_logger_and_the_meter(result):
    rows = {r["quantity"]: r for r in result["points"][0]["sensors"]}
    assert rows["water inlet temperature"]["channel"] == "daq.water_in"
    assert rows["water outlet temperature"]["channel"] == "daq.water_out"
    assert rows["water volume flow"]["channel"] == "flow.flow_v1"
    assert rows["supply voltage"]["channel"] == "pa_odu.U1"
    assert rows["water inlet temperature"]["certificate"] == "SIM-CAL-DAQ-0001"


def test_every_instrument_is_listed_with_identity_and_calibration(result):
    station = tomllib.loads(STATION.read_text(encoding="utf-8"))
    listed = {i["name"]: i for i in result["instruments"]}
    assert set(listed) == set(station["instruments"])
    for name, entry in station["instruments"].items():
        row = listed[name]
        assert row["driver"] == entry["driver"]
        assert row["serial"] == entry.get("serial", "")
        assert row["certificate"] == entry.get("calibration_certificate", "")
    # the message-based instruments report their identity; it matches the station's serial
    for name in ("pa_odu", "pa_idu", "daq"):
        assert listed[name]["serial_check"] == "match", listed[name]
    assert listed["pa_odu"]["reported"]["model"] == "WT333E"
    assert listed["pa_odu"]["role"] == listed["pa_idu"]["role"] == "power_analyser"
    assert listed["daq"]["role"] == "data_logger"
