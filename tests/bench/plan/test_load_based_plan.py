"""`kind: load_based` points: the shipped plan, hand-sized flows, file:line problems."""

import io
from pathlib import Path

import pytest

from bench.metrology.water import density, specific_heat
from bench.plan import PlanError, load_plan, validate_command

PLANS = Path(__file__).resolve().parents[3] / "test_plans"
SHIPPED = PLANS / "load_based_average_medium.yaml"
# §7 average climate, medium temperature: id -> (outdoor °C, RH %, PLC, flow °C)
POINTS_7 = {
    "A": (-7, 74.7, 0.8846, 52),
    "B": (2, 83.9, 0.5385, 42),
    "C": (7, 86.8, 0.3462, 36),
    "D": (12, 88.9, 0.1538, 30),
}
E_WET_BULB_C = -11.0  # E (design, TOL) is given by its wet bulb, as en14825_average_low_temp's E

BASE = """\
name: t
profile: en14511-3
standard: en14825
climate: average
application: medium
operator: tester
unit: {make: NIBE, model: S2125-12, serial: "4", refrigerant: R290, pdesignh_kw: 9,
       tbiv_c: -7, tol_c: -10}
points:
  - id: D
    kind: load_based
    air: {dry_bulb_c: 12, rh_pct: 88.9}
    water: {outlet_c: 30}
    load_based: {plc: 0.1538}
"""


def test_the_shipped_plan_is_points_a_to_e_of_section_7_with_hand_sized_flows():
    out, err = io.StringIO(), io.StringIO()
    assert validate_command(str(SHIPPED), out, err) == 0, err.getvalue()
    assert "estimated" in out.getvalue()
    plan = load_plan(SHIPPED)
    assert [p.id for p in plan.points] == [*POINTS_7, "E"]
    m_design = 9000 / (specific_heat(55 - 4, 3e5) * 8)  # Φ_design / (cp·ΔT_design), §7
    for p in plan.points:
        lb = p.load_based
        assert lb is not None
        if p.id == "E":  # §7: E = design (-10 °C, PLC 1, 55 °C)
            given = (p.air_dry_bulb_c, p.air_wet_bulb_c, lb.plc, lb.t_flow_c)
            assert given == (-10, E_WET_BULB_C, 1.0, 55)
        else:
            air, rh, plc, flow_c = POINTS_7[p.id]
            assert (p.air_dry_bulb_c, p.air_rh_pct, lb.plc, lb.t_flow_c) == (air, rh, plc, flow_c)
        assert (lb.tau_h_s, lb.application, lb.design_w) == (1957, "medium", 9000)
        s = lb.sizing()
        assert s.m_design_kg_s == pytest.approx(m_design, rel=1e-12)
        assert p.flow.flow_m3h == pytest.approx(m_design * 3600 / density(s.t_h0_c, 3e5), abs=1e-4)
        assert p.timing.equilibrium_min == 60 and p.timing.sample_s == 1.0  # warm-up, 1 s steps


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("standard: en14825\nclimate: average\napplication: medium\n", "standard: en14511\n", 12,
         "points[0].load_based: a load-based point needs application"),
        ("    load_based: {plc: 0.1538}\n", "", 10, "points[0].load_based: required when kind"),
        ("    kind: load_based\n", "", 10, "points[0].kind: load_based is given: say kind"),
        ("{plc: 0.1538}", "{plc: 1.7}", 14, "points[0].load_based.plc: 1.7  is outside"),
        ("{plc: 0.1538}", "{plc: 0.15}\n    part_load: {demand_pct: 20}", 15,
         "points[0].part_load: a load-based point leaves the load to the unit"),
    ],
    ids=["no design load", "no section", "no kind", "plc range", "part load"],
)  # fmt: skip
def test_bad_load_based_points_name_file_and_line(tmp_path, old, new, line, message):
    assert old in BASE
    path = tmp_path / "plan.yaml"
    path.write_text(BASE.replace(old, new), encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert caught.value.problems == (f"{path}:{line}: " + message,) or any(
        p.startswith(f"{path}:{line}: {message}") for p in caught.value.problems
    ), caught.value.problems
