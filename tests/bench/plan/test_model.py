"""Plan models: each point resolved with its defaults, RH converted, physics checked."""

from pathlib import Path

import pytest

from bench.plan import (
    FlowFrom,
    InletTemperature,
    PlanError,
    TemperatureDifference,
    VolumeFlow,
    load_plan,
    parse_plan,
)
from instruments.sim.perfmap import PerformanceMap

PLANS = Path(__file__).resolve().parents[3] / "test_plans"

# docs/standards.md §1, at 101 325 Pa: point → (dry bulb, wet bulb, RH %)
RH_REFERENCE = {
    "A7W35": (7, 6, 86.8),
    "A2W35": (2, 1, 83.9),
    "A-7W35": (-7, -8, 74.7),
    "A12W35": (12, 11, 88.9),
}

HEAD = """\
name: t
profile: en14511-3
standard: en14511
operator: tester
unit: {make: NIBE, model: S2125-12, serial: "42", refrigerant: R290}
"""


def plan_of(body: str, path: str = "t.yaml"):
    return parse_plan(HEAD + body, path)


def problems_of(body: str) -> list[str]:
    with pytest.raises(PlanError) as caught:
        plan_of(body)
    return list(caught.value.problems)


@pytest.mark.parametrize(("point_id", "reference"), RH_REFERENCE.items())
def test_wet_bulb_is_converted_to_the_chambers_rh(point_id, reference):
    dry, wet, rh = reference
    point = load_plan(PLANS / "en14511_rating.yaml").point(point_id)
    assert (point.air_dry_bulb_c, point.air_wet_bulb_c) == (dry, wet)
    assert point.air_rh_pct == pytest.approx(rh, abs=0.1)
    assert point.humidity_given == "wet_bulb"
    assert point.barometric_pa == 101_325


def test_rh_depends_on_the_plans_barometric_pressure():
    body = """\
defaults: {barometric_pa: 90000, water: {delta_t_k: 5}}
points:
  - {id: A7W35, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35}}
"""
    point = plan_of(body).points[0]
    assert point.barometric_pa == 90_000
    assert abs(point.air_rh_pct - 86.8) > 0.5


def test_rh_given_is_kept_and_wet_bulb_computed():
    body = """\
points:
  - {id: P, air: {dry_bulb_c: 7, rh_pct: 86.8}, water: {outlet_c: 35, flow_m3h: 1.2}}
"""
    point = plan_of(body).points[0]
    assert point.air_rh_pct == 86.8
    assert point.air_wet_bulb_c == pytest.approx(6.0, abs=0.02)
    assert point.humidity_given == "rh"
    assert point.flow == VolumeFlow(1.2)


def test_each_flow_setting_resolves_to_its_type():
    body = """\
defaults: {water: {delta_t_k: 5}}
points:
  - {id: A, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35}}
  - {id: B, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 55, inlet_c: 47}}
  - {id: C, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35, flow_from: A}}
"""
    flows = [p.flow for p in plan_of(body).points]
    assert flows == [TemperatureDifference(5), InletTemperature(47), FlowFrom("A")]


def test_timing_comes_from_point_then_defaults_then_profile():
    body = """\
defaults:
  water: {delta_t_k: 5}
  timing: {collection_min: 40}
  on_unstable: abort
points:
  - id: A
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
    timing: {equilibrium_min: 70, sample_s: 2}
    on_unstable: fail_and_continue
  - {id: B, air: {dry_bulb_c: 2, wet_bulb_c: 1}, water: {outlet_c: 35}}
"""
    a, b = plan_of(body).points
    assert (a.timing.equilibrium_min, a.timing.collection_min, a.timing.sample_s) == (70, 40, 2)
    assert (b.timing.equilibrium_min, b.timing.collection_min, b.timing.sample_s) == (60, 40, 10)
    assert b.timing.stabilise_timeout_min == 180  # the profile's
    assert a.timing.collection_s == 2400
    assert (a.on_unstable, b.on_unstable) == ("fail_and_continue", "abort")


def test_part_load_is_carried_to_the_point():
    body = """\
defaults: {water: {delta_t_k: 5}}
points:
  - {id: A, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35},
     part_load: {compressor_hz: 45}}
"""
    point = plan_of(body).points[0]
    assert point.part_load is not None
    assert (point.part_load.compressor_hz, point.part_load.demand_pct) == (45, None)


def test_en14825_plan_needs_the_design_values():
    head = HEAD.replace("standard: en14511", "standard: en14825\nclimate: average")
    body = """\
application: low
defaults: {water: {delta_t_k: 5}}
points:
  - {id: A, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35}}
"""
    with pytest.raises(PlanError) as caught:
        parse_plan(head + body, "t.yaml")
    assert [p.split(": ", 2)[1] for p in caught.value.problems] == [
        "unit.pdesignh_kw",
        "unit.tbiv_c",
        "unit.tol_c",
    ]
    assert all("required when standard is en14825" in p for p in caught.value.problems)


def test_tbiv_above_the_climates_maximum_is_refused():
    head = HEAD.replace("standard: en14511", "standard: en14825\nclimate: average").replace(
        'serial: "42",', 'serial: "42", pdesignh_kw: 9, tbiv_c: 5, tol_c: -10,'
    )
    body = """\
application: low
points:
  - {id: A, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35, delta_t_k: 5}}
"""
    with pytest.raises(PlanError, match=r"unit\.tbiv_c: 5 °C is above the average climate"):
        parse_plan(head + body, "t.yaml")


def test_climate_only_with_en14825():
    problems = problems_of(
        "climate: average\n"
        "points: [{id: A, air: {dry_bulb_c: 7, rh_pct: 80}, water: {outlet_c: 35, delta_t_k: 5}}]"
    )
    assert problems == ["t.yaml:6: climate: applies only when standard is en14825"]


def test_a_default_problem_is_named_once_at_its_own_line():
    body = """\
defaults:
  water: {delta_t_k: 5}
  timing: {sample_s: 20}
points:
  - {id: A, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35}}
  - {id: B, air: {dry_bulb_c: 2, wet_bulb_c: 1}, water: {outlet_c: 35}}
"""
    assert problems_of(body) == [
        "t.yaml:8: defaults.timing.sample_s: 20 s is longer than profile en14511-3's maximum "
        "sampling interval 10 s"
    ]


def test_a_default_flow_from_names_the_point_it_fails_for():
    body = """\
defaults: {water: {flow_from: A}}
points:
  - {id: A, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35}}
"""
    assert problems_of(body) == [
        "t.yaml:6: defaults.water.flow_from: point A: point A cannot take its flow from itself"
    ]


def test_delta_t_that_freezes_the_inlet_is_refused():
    body = (
        "points: [{id: A, air: {dry_bulb_c: 7, rh_pct: 80}, water: {outlet_c: 20, delta_t_k: 15}}]"
    )
    assert problems_of(body) == [
        "t.yaml:6: points[0].water.delta_t_k: ΔT 15 K below the outlet 20 °C means an inlet of "
        "5 °C, under 10 °C"
    ]


def test_wet_bulb_too_low_for_any_humidity_is_refused():
    body = (
        "points: [{id: A, air: {dry_bulb_c: 2, wet_bulb_c: -20},"
        " water: {outlet_c: 35, delta_t_k: 5}}]"
    )
    (problem,) = problems_of(body)
    assert problem.startswith("t.yaml:6: points[0].air.wet_bulb_c: no humid-air state")


def test_en14825_demand_is_pdesignh_part_load_over_the_maps_maximum():
    # The conversion the plan's comments describe, recomputed from the simulator's map.
    plan = load_plan(PLANS / "en14825_average_low_temp.yaml")
    unit = plan.spec.unit
    assert (unit.pdesignh_kw, unit.tbiv_c, unit.tol_c) == (9.0, -7, -10)
    perfmap = PerformanceMap.nibe_s2125_12()
    expected_outlets = {"A": 34, "B": 30, "C": 27, "D": 24, "E": 35, "F": 34}
    expected_air = {"A": -7, "B": 2, "C": 7, "D": 12, "E": unit.tol_c, "F": unit.tbiv_c}
    for point in plan.points:
        assert point.water_outlet_c == expected_outlets[point.id]
        assert point.air_dry_bulb_c == expected_air[point.id]
        part_load = (point.air_dry_bulb_c - 16) / (-10 - 16)
        needed_w = unit.pdesignh_kw * 1000 * part_load
        share = 100 * needed_w / perfmap.max_capacity_w(point.air_dry_bulb_c, point.water_outlet_c)
        assert point.part_load is not None
        assert point.part_load.demand_pct == pytest.approx(min(share, 100.0), abs=0.05)


def test_en14825_part_loads_of_standards_md():
    # docs/standards.md §4: pl at A–D 88.5 / 53.8 / 34.6 / 15.4 % for the average climate.
    plan = load_plan(PLANS / "en14825_average_low_temp.yaml")
    loads = {p.id: 100 * (p.air_dry_bulb_c - 16) / (-10 - 16) for p in plan.points}
    assert [round(loads[i], 1) for i in "ABCD"] == [88.5, 53.8, 34.6, 15.4]


def test_customer_and_date_received_for_the_test_report():
    plan = parse_plan(
        HEAD.replace("refrigerant: R290}", "refrigerant: R290, received: 2026-11-20}")
        + "customer: {name: ACME Wärme AG, address: Berlin}\n"
        + "points:\n  - id: A7W35\n    air: {dry_bulb_c: 7, wet_bulb_c: 6}\n"
        + "    water: {outlet_c: 35, delta_t_k: 5}\n",
        "t.yaml",
    )
    assert plan.points[0].id == "A7W35"
    with pytest.raises(PlanError, match=r"t.yaml:5: unit.received: Input should be a valid date"):
        parse_plan(
            HEAD.replace("refrigerant: R290}", "refrigerant: R290, received: soon}"), "t.yaml"
        )
