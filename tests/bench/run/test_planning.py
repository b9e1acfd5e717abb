"""A valid plan this bench cannot run is refused before anything starts, naming the point's
file and line and the station setting it breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.plan import load_plan
from bench.run.planning import PlanNotRunnable, point_specs
from bench.station import Station, parse_station, sim_station_path

REPO = Path(__file__).parents[3]
DEMO = REPO / "test_plans" / "demo.yaml"
RATING = REPO / "test_plans" / "en14511_rating.yaml"


def station_with(limits: str) -> Station:
    text = sim_station_path().read_text(encoding="utf-8")
    head, tail = text.split("[limits]\n", 1)
    tail = tail.split("\n\n", 1)[1]  # the shipped [limits] table, replaced
    return parse_station(f"{head}[limits]\n{limits}\n\n{tail}", "lab.toml")


def test_the_shipped_plans_fit_the_simulated_bench():
    station = parse_station(sim_station_path().read_text(encoding="utf-8"), "sim.toml")
    assert station.limits.air_temperature_c == (-25.0, 45.0)
    for name in ("demo", "en14511_rating", "en14825_average_low_temp", "overnight"):
        plan = load_plan(REPO / "test_plans" / f"{name}.yaml")
        assert len(point_specs(plan, station)) == len(plan.points)


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (
            "air_temperature_c = [5, 40]",
            "demo.yaml:26: point A2W35: air dry bulb 2 °C is outside this bench's range, "
            "station limits.air_temperature_c = [5, 40]",
        ),
        (
            "hp_flow_temperature_c = [20, 30]",
            "demo.yaml:23: point A7W35: water outlet 35 °C is outside this bench's range, "
            "station limits.hp_flow_temperature_c = [20, 30]",
        ),
        (
            "air_humidity_pct = [20, 80]",
            "demo.yaml:23: point A7W35: air humidity 86.",
        ),
    ],
)
def test_a_point_outside_the_station_limits_is_refused(limits: str, expected: str) -> None:
    with pytest.raises(PlanNotRunnable) as err:
        point_specs(load_plan(DEMO), station_with(limits))
    message = str(err.value)
    assert message.startswith(str(DEMO.parent) + "/" + expected), message


def test_a_fixed_inlet_outside_the_water_limits_is_refused() -> None:
    with pytest.raises(PlanNotRunnable, match=r"point A7W55: water inlet 47 °C .* \[10, 45\]"):
        point_specs(load_plan(RATING), station_with("water_inlet_c = [10, 45]"))


def test_limits_that_hold_every_point_pass_the_water_ranges_on_to_the_trim() -> None:
    wide = station_with("water_inlet_c = [5, 60]\nwater_flow_m3h = [0.3, 2.5]")
    specs = point_specs(load_plan(DEMO), wide)
    assert [s.id for s in specs] == ["A7W35", "A2W35"]
    assert {(s.inlet_range_c, s.flow_range_m3h) for s in specs} == {((5.0, 60.0), (0.3, 2.5))}


def test_validate_checks_the_plan_against_a_station(tmp_path, capsys) -> None:
    from bench.cli import main

    text = sim_station_path().read_text(encoding="utf-8")
    station = tmp_path / "lab.toml"
    station.write_text(text.replace("air_temperature_c = [-25, 45]", "air_temperature_c = [5, 40]"))
    assert main(["validate", str(DEMO), "--sim"]) == 0
    capsys.readouterr()
    assert main(["validate", str(DEMO), "--station", str(station)]) == 2
    out, err = capsys.readouterr()
    assert "2 points, estimated" in out  # the plan itself is shown, as without a station
    assert err.splitlines()[-1] == (
        f"{DEMO}:26: point A2W35: air dry bulb 2 °C is outside this bench's range, "
        "station limits.air_temperature_c = [5, 40]"
    )
