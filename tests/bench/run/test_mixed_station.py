"""Issue 16's second acceptance line: the mixed station (three-phase WT333E with its Σ, DAQ970A
Pt100s for the water temperatures, a Watlow F4T chamber, a NIBE unit started through SG-Ready
contacts) runs `test_plans/en14511_rating.yaml` through `hpbench run --sim` with every point
valid, and result.json lists every instrument, each point's power parts with the ranges they
were measured on, and the sensor behind each quantity.

The plan runs as shipped (its points, conditions and water settings), with the profile's
equilibrium and collection times shortened as in test_shipped_plans.py so the suite stays fast.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.bench.run.test_cli_run import hpbench
from tests.bench.run.test_shipped_plans import shortened

STATION = Path(__file__).parents[3] / "stations" / "lab_wt333e_daq970a_f4t_nibe.toml"
SPEED = "300"  # bench s per wall s: seven instruments, three of them Modbus maps, keep up


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("mixed")
    plan = folder / "en14511_rating.yaml"
    plan.write_text(shortened("en14511_rating"), encoding="utf-8")
    results = folder / "results"
    results.mkdir()
    done = hpbench(
        "run", str(plan), "--sim", "--speed", SPEED, "--station", str(STATION),
        "--results", str(results), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    return json.loads((run_dir / "result.json").read_text(encoding="utf-8"))


def test_every_rating_point_is_valid(result):
    assert [p["id"] for p in result["points"]] == [
        "A7W35", "A2W35", "A-7W35", "A7W55", "A-7W55", "A12W35",
    ]  # fmt: skip
    assert {p["id"]: p["status"] for p in result["points"] if p["status"] != "valid"} == {}
    assert result["completeness"]["complete"], result["completeness"]


def test_every_instrument_is_listed_with_identity_and_calibration(result):
    station = tomllib.loads(STATION.read_text(encoding="utf-8"))
    listed = {i["name"]: i for i in result["instruments"]}
    assert set(listed) == set(station["instruments"])  # the io module switching the unit too
    for name, entry in station["instruments"].items():
        row = listed[name]
        assert (row["driver"], row["serial"]) == (entry["driver"], entry["serial"])
        assert row["certificate"] == entry.get("calibration_certificate", "")
    for name in ("pa_odu", "pa_idu", "daq"):  # these report their identity: it matches
        assert listed[name]["serial_check"] == "match", listed[name]
    assert listed["pa_odu"]["reported"]["model"] == "WT333E"


def test_each_point_keeps_its_power_parts_and_their_ranges(result):
    for point in result["points"]:
        parts = {p["channel"]: p for p in point["power_parts"]}
        assert set(parts) == {"pa_odu.P_sigma", "pa_idu.P"}
        elements = parts["pa_odu.P_sigma"]["range"]["elements"]
        assert [e["current"] for e in elements] == [f"pa_odu.Irange{n}" for n in (1, 2, 3)]
        assert all(e["current_a"] > 0 and e["voltage_v"] > 0 for e in elements)
        assert not parts["pa_odu.P_sigma"]["range"]["declared"]  # read back, not assumed
        assert point["results"]["power_raw_w"] == pytest.approx(
            sum(p["mean_w"] for p in parts.values()), rel=1e-9
        )


def test_the_sensors_behind_each_quantity_are_named(result):
    for point in result["points"]:
        rows = {(r["quantity"], r["channel"]): r for r in point["sensors"]}
        for quantity, channel in [
            ("water inlet temperature", "daq.water_in"),
            ("water outlet temperature", "daq.water_out"),
            ("water volume flow", "hm.volume_flow"),
            ("electrical power", "pa_odu.P_sigma"),
            ("electrical power", "pa_idu.P"),
            ("supply voltage", "pa_odu.U1"),
            ("air dry bulb temperature", "chamber.temperature"),
        ]:
            assert (quantity, channel) in rows, sorted(rows)
        assert rows[("water outlet temperature", "daq.water_out")]["serial"] == "MY58000001"
        assert rows[("electrical power", "pa_odu.P_sigma")]["range"] > 0
